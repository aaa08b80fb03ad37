package index

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"testing"
	"time"

	"github.com/hfpack/hfpack/lockfile/cache"
)

// testOptions gives fast retries, a private cache and no log output.
func testOptions(t *testing.T, extra ...Option) []Option {
	t.Helper()
	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return append([]Option{WithCache(c), WithBackoff(time.Microsecond, time.Millisecond), WithLogger(slog.New(slog.DiscardHandler))}, extra...)
}

func newClient(t *testing.T, url string, extra ...Option) *Client {
	t.Helper()
	c, err := New(url, testOptions(t, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}
