package resolve

import (
	"context"
	"testing"
	"time"
)

// The fetcher walks the likely dependency graph by itself: when a
// candidate's metadata arrives, the pages of the projects it needs on the
// target (extras asked for included, other platforms' markers excluded)
// are fetched, then their likely candidates' metadata, and so on, without
// the resolver asking for any of them.
func TestFetcherPrefetchesTheLikelyGraph(t *testing.T) {
	p := newProvider(memIndex{
		"a":       {v("1.0", "b")},
		"b":       {v("1.0", "c[fast]", "winonly; sys_platform == 'win32'", "opt; extra == 'unused'")},
		"c":       {v("1.0", "d; extra == 'fast'").provides("fast")},
		"d":       {v("2.0", "e"), v("1.0")},
		"e":       {v("1.0")},
		"opt":     {v("1.0")},
		"winonly": {v("1.0")},
	})
	o, err := makeOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := newFetcher(ctx, p, o)
	s := &solver{env: linux311}
	f.next = s.likelyNeeds
	f.prefetchProject("a", nil)
	deadline := time.Now().Add(30 * time.Second)
	for p.count("deps e 1.0") == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	f.wait()
	for _, call := range []string{"versions b", "deps b 1.0", "versions c", "deps c 1.0", "versions d", "deps d 2.0", "versions e", "deps e 1.0"} {
		if p.count(call) != 1 {
			t.Errorf("%s: %d calls, want 1", call, p.count(call))
		}
	}
	for _, call := range []string{"versions winonly", "versions opt", "deps d 1.0"} {
		if p.count(call) != 0 {
			t.Errorf("%s: %d calls, want none (not needed on the target)", call, p.count(call))
		}
	}
}

func (p *memProvider) count(call string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[call]
}
