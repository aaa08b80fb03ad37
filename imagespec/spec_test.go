package imagespec

import (
	"strconv"
	"testing"
)

func TestParseLayoutRef(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want LayoutRef
		ok   bool
	}{
		{"oci-layout:base", LayoutRef{Dir: "base"}, true},
		{"oci-layout:/abs/base@sha256:abc", LayoutRef{Dir: "/abs/base", Digest: "sha256:abc"}, true},
		{"oci-layout:", LayoutRef{}, true},
		{"docker.io/library/debian@sha256:abc", LayoutRef{}, false},
		{"oci:out", LayoutRef{}, false},
	} {
		got, ok := ParseLayoutRef(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseLayoutRef(%q) = %+v, %t; want %+v, %t", tt.in, got, ok, tt.want, tt.ok)
		}
		if ok && got.String() != tt.in {
			t.Errorf("ParseLayoutRef(%q).String() = %q", tt.in, got.String())
		}
	}
	if got := (LayoutRef{Dir: "base"}).In("/p").Dir; got != "/p/base" {
		t.Errorf("In(/p).Dir = %q, want /p/base", got)
	}
	if got := (LayoutRef{Dir: "/abs"}).In("/p").Dir; got != "/abs" {
		t.Errorf("In(/p).Dir of an absolute dir = %q, want /abs", got)
	}
}

// The image config exposes the port the sidecar listens on by default.
func TestExposedPortIsDefaultPort(t *testing.T) {
	if want := strconv.Itoa(DefaultPort) + "/tcp"; ExposedPort != want {
		t.Errorf("ExposedPort = %q, want %q", ExposedPort, want)
	}
}

// Zero values take the documented defaults.
func TestWithDefaults(t *testing.T) {
	c := Config{}.WithDefaults()
	if c.Port != DefaultPort || c.MaxBatchSize != DefaultMaxBatchSize || c.MaxQueue != DefaultQueuePerBatch*DefaultMaxBatchSize ||
		c.MaxBatchDelay.D() != DefaultMaxBatchDelay || c.MaxRequestBytes != DefaultMaxRequestBytes {
		t.Errorf("Config{}.WithDefaults() = %+v", c)
	}
}
