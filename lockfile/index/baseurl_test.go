package index

import (
	"testing"

	"github.com/hfpack/hfpack/lockfile/cache"
)

// TestBaseURLIsClientURL keeps BaseURL and Client.URL in step: a lock's
// index is compared with BaseURL of the manifest's URLs.
func TestBaseURLIsClientURL(t *testing.T) {
	cc, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"https://pypi.org/simple",
		"https://pypi.org/simple/",
		"https://user:secret@example.com/a%2Fb/simple?x=1#frag",
		" http://127.0.0.1:8765/simple ",
		"https://download.pytorch.org/whl/cu121",
	} {
		c, err := New(u, WithCache(cc))
		if err != nil {
			t.Fatalf("New(%q): %v", u, err)
		}
		got, err := BaseURL(u)
		if err != nil {
			t.Fatalf("BaseURL(%q): %v", u, err)
		}
		if got != c.URL() {
			t.Errorf("BaseURL(%q) = %q, Client.URL() = %q", u, got, c.URL())
		}
	}
	for _, bad := range []string{"", "ftp://x/simple", "/simple", "https://"} {
		if _, err := BaseURL(bad); err == nil {
			t.Errorf("BaseURL(%q) succeeded", bad)
		}
	}
}
