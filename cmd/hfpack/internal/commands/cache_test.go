package commands

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	buildcache "github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/internal/gc"
	"github.com/hfpack/hfpack/pipeline"
)

// Pruning never changes what a build makes: after prune removes layers by
// age, and after --all, the next build rebuilds them into the same image.
// A dry run removes nothing; a build that used a layer keeps it.
func TestCachePruneKeepsBuildsExact(t *testing.T) {
	manifest, _ := weightsProject(t, 1<<20)
	sidecar := fakeSidecar(t)
	cache := t.TempDir()
	build := func() BuildResult {
		t.Helper()
		code, stdout, stderr := run(t, "build", manifest, "--cache-dir", cache, "--sidecar", sidecar, "--json", "-o", "oci:"+t.TempDir())
		if code != ExitOK {
			t.Fatalf("build: exit %d\n%s", code, stderr)
		}
		var r BuildResult
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	prune := func(args ...string) gc.Report {
		t.Helper()
		code, stdout, stderr := run(t, append([]string{"cache", "prune", "--cache-dir", cache, "--json"}, args...)...)
		if code != ExitOK {
			t.Fatalf("cache prune %v: exit %d\n%s", args, code, stderr)
		}
		// Every build closed the cache: nothing to wait for.
		if strings.Contains(stderr, "waiting") {
			t.Errorf("cache prune %v waited for builds while none ran:\n%s", args, stderr)
		}
		var r gc.Report
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("cache prune --json: %v\n%s", err, stdout)
		}
		return r
	}
	cached := func(r BuildResult) (n int) {
		for _, l := range r.Layers {
			if l.Cached {
				n++
			}
		}
		return n
	}
	first := build()
	if r := prune(); len(r.Removed) != 0 || r.Kept == 0 {
		t.Fatalf("prune right after a build removed %+v and kept %d entries", r.Removed, r.Kept)
	}
	// The layers it stored, and the record of the weights' layer, which is
	// regenerated from the model's files.
	entries, _ := filepath.Glob(filepath.Join(cache, "build", "layers", "*.json"))
	refs, _ := filepath.Glob(filepath.Join(cache, "build", "refs", "*.json"))
	if len(entries) == 0 || len(refs) == 0 {
		t.Fatalf("the build stored %d layers and %d weights records", len(entries), len(refs))
	}
	entries = append(entries, refs...)
	old := time.Now().Add(-30 * 24 * time.Hour)
	for _, p := range entries {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	dry := prune("--dry-run", "--keep-duration", "7d")
	if !dry.DryRun || len(dry.Removed) != len(entries) || dry.Freed == 0 {
		t.Errorf("dry run: %+v, want the %d aged layers and bytes freed", dry, len(entries))
	}
	if left, _ := filepath.Glob(filepath.Join(cache, "build", "*", "*.json")); len(left) < len(entries) {
		t.Fatalf("a dry run removed entries: %d left of %d", len(left), len(entries))
	}
	// A build that finds its layers records their use: nothing to prune.
	if again := build(); again.Digest != first.Digest || cached(again) == 0 {
		t.Fatalf("rebuild: %s with %d cached layers, want %s from the cache", again.Digest, cached(again), first.Digest)
	}
	if r := prune("--keep-duration", "7d"); len(r.Removed) != 0 {
		t.Errorf("prune removed %+v, which the last build used", r.Removed)
	}
	for _, p := range entries {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	r := prune("--keep-duration", "168h")
	if len(r.Removed) != len(entries) || r.Freed == 0 {
		t.Errorf("prune by age: %+v, want the %d aged layers", r, len(entries))
	}
	if again := build(); again.Digest != first.Digest || cached(again) != 0 {
		t.Errorf("build after prune: %s with %d cached layers, want %s rebuilt", again.Digest, cached(again), first.Digest)
	}
	if r := prune("--all"); r.Kept != 0 || len(r.Removed) == 0 {
		t.Errorf("prune --all: %+v", r)
	}
	blobs, _ := os.ReadDir(filepath.Join(cache, "build", "blobs", "sha256"))
	if len(blobs) != 0 {
		t.Errorf("prune --all left %d layer blobs", len(blobs))
	}
	// The index cache goes too: the wheel the builds fetched, its
	// remembered hash and the record of its use.
	wheels := filepath.Join(cache, "blobs", "sha256")
	for _, dir := range []string{wheels, filepath.Join(cache, "used"), filepath.Join(cache, "verified")} {
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("prune --all left %d files in %s", len(left), dir)
		}
	}
	// The next build fetches the wheel again from the index and makes the
	// same image.
	if again := build(); again.Digest != first.Digest {
		t.Errorf("build after prune --all: %s, want %s", again.Digest, first.Digest)
	}
	if left, _ := os.ReadDir(wheels); len(left) == 0 {
		t.Error("the build after prune --all cached no wheel")
	}
}

func TestCachePruneFlags(t *testing.T) {
	cache := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		out  string // substring of stdout (ExitOK) or stderr
	}{
		{[]string{"--all", "--keep-duration", "1h"}, ExitUsage, "--all removes everything: it takes no --keep-duration"},
		{[]string{"--all", "--keep-storage", "1GB"}, ExitUsage, "it takes no --keep-storage"},
		{[]string{"--keep-duration", "a week"}, ExitUsage, `invalid duration "a week"`},
		{[]string{"--keep-duration", "-1h"}, ExitUsage, "invalid duration"},
		{[]string{"--keep-storage", "lots"}, ExitUsage, `--keep-storage: invalid size "lots": want a number and a unit`},
		{[]string{"--keep-storage", "50"}, ExitUsage, `invalid size "50"`},
		{[]string{"--keep-storage="}, ExitUsage, `invalid size ""`},
		{[]string{"--keep-storage", "0GB"}, ExitUsage, `invalid size "0GB"`},
		{[]string{"--keep-storage", "5PB"}, ExitUsage, `invalid size "5PB"`},
		{[]string{"--keep-storage", "1.5 GiB"}, ExitOK, "removed nothing"},
		{[]string{"extra"}, ExitUsage, "unknown command"},
		{[]string{"--keep-duration", "7d", "--keep-storage", "10GB"}, ExitOK, "removed nothing and 0 blobs"},
		{[]string{"--dry-run"}, ExitOK, "would remove nothing"},
	} {
		code, stdout, stderr := run(t, append([]string{"cache", "prune", "--cache-dir", cache}, tc.args...)...)
		out := stderr
		if tc.code == ExitOK {
			out = stdout
		}
		if code != tc.code || !strings.Contains(out, tc.out) {
			t.Errorf("cache prune %v: exit %d, output %q; want exit %d and %q", tc.args, code, out, tc.code, tc.out)
		}
	}
}

// A build holds the caches from its start to its end: a prune started
// meanwhile waits (a dry run does not), and a check started while a prune
// holds them waits for it, saying so.
func TestPruneAndBuildsWaitForEachOther(t *testing.T) {
	manifest, _ := weightsProject(t, 1<<20)
	sidecar := fakeSidecar(t)
	cache := t.TempDir()
	reached, proceed := make(chan struct{}), make(chan struct{})
	testHookBeforeBuild = func() {
		close(reached)
		<-proceed
	}
	t.Cleanup(func() { testHookBeforeBuild = nil })
	done := make(chan int)
	go func() {
		code, _, stderr := run(t, "build", manifest, "--cache-dir", cache, "--sidecar", sidecar, "-o", "oci:"+t.TempDir())
		if code != ExitOK {
			t.Errorf("build: exit %d\n%s", code, stderr)
		}
		done <- code
	}()
	<-reached
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	waited := false
	if _, err := pipeline.PruneCache(ctx, cache, gc.Policy{All: true}, false, func() { waited = true }); !errors.Is(err, context.DeadlineExceeded) || !waited {
		t.Errorf("prune during a build: %v (waited %t), want it to wait until its deadline", err, waited)
	}
	if _, err := pipeline.PruneCache(context.Background(), cache, gc.Policy{All: true}, true, nil); err != nil {
		t.Errorf("dry run during a build: %v", err)
	}
	close(proceed)
	<-done
	testHookBeforeBuild = nil

	release, err := buildcache.Lock(context.Background(), filepath.Join(cache, "build"), nil)
	if err != nil {
		t.Fatal(err)
	}
	checked := make(chan string)
	go func() {
		code, _, stderr := run(t, "check", manifest, "--cache-dir", cache)
		if code != ExitOK {
			t.Errorf("check: exit %d\n%s", code, stderr)
		}
		checked <- stderr
	}()
	select {
	case <-checked:
		t.Fatal("check ran while a prune held the caches")
	case <-time.After(500 * time.Millisecond):
	}
	release()
	if stderr := <-checked; !strings.Contains(stderr, "waiting for a cache prune to finish") {
		t.Errorf("check did not say it waited:\n%s", stderr)
	}
}

func TestParseStorage(t *testing.T) {
	for in, want := range map[string]int64{"50GB": 50e9, "512MiB": 512 << 20, "1.5 GiB": 3 << 29, "10kb": 10e3, "7B": 7, "2TiB": 2 << 40} {
		if got, err := parseStorage(in); err != nil || got != want {
			t.Errorf("parseStorage(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "50", "GB", "-1GB", "0.5B", "0.0001KB", "1e3GB", "1..5GB", "5 G B", "9999999999TiB", "NaNGB"} {
		if got, err := parseStorage(in); err == nil {
			t.Errorf("parseStorage(%q) = %d, want an error", in, got)
		}
	}
}
