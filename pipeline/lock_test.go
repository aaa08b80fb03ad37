package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hfpack/hfpack/lockfile"
	"github.com/hfpack/hfpack/lockfile/pylock"
)

// Relock replaces the lock by a rename, leaving no temporary file, and
// does not touch a lock whose bytes would not change.
func TestRelockWritesAtomically(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "model"), 0o755)
	os.WriteFile(filepath.Join(dir, "model", "config.json"), []byte(`{"model_type": "bert"}`), 0o644)
	path := filepath.Join(dir, "hfpack.toml")
	manifest := "name = \"x\"\n\n[model]\npath = \"model\"\ntask = \"text-classification\"\n\n" +
		"[python]\nversion = \"3.11\"\nrequirements = []\n\n[accelerator]\ntype = \"cpu\"\n"
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cache := lockfile.WithCacheDir(t.TempDir())
	res, err := p.Relock(ctx, cache)
	if err != nil || !res.Written {
		t.Fatalf("first lock: %+v, %v", res, err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"hfpack.toml", "model", pylock.FileName}; !slices.Equal(names, want) {
		t.Errorf("project holds %v, want %v", names, want)
	}
	if _, err := pylock.ReadFile(p.LockPath); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(p.LockPath)
	res, err = p.Relock(ctx, cache)
	if err != nil || res.Written {
		t.Fatalf("second lock: %+v, %v: want nothing written", res, err)
	}
	after, _ := os.Stat(p.LockPath)
	if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Error("an unchanged lock was rewritten")
	}
}
