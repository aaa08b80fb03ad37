package llb_test

import (
	"testing"

	hfllb "github.com/hfpack/hfpack/builder/llb"
)

// The daemon is told to push over plain HTTP exactly where hfpack's own
// push would use it without asking: localhost and loopback addresses.
func TestDaemonPushPlainHTTPOnlyOnLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost:5000":        true,
		"127.0.0.1:5000":        true,
		"127.8.9.1":             true,
		"[::1]:5000":            true,
		"10.0.0.7:5000":         false, // go-containerregistry tries HTTPS first
		"192.168.1.2":           false,
		"gcr.io":                false,
		"europe-docker.pkg.dev": false,
		"localhost.example.com": false,
	} {
		if got := hfllb.IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
