package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hfpack/hfpack/internal/fsio"
	"github.com/hfpack/hfpack/internal/gc"
)

// The model-hashes records an older lock wrote under the cache root are
// the prune's too: kept while their file is unchanged, removed after.
func TestPruneCacheModelHashRecords(t *testing.T) {
	root := t.TempDir()
	model := t.TempDir()
	var files []string
	for _, name := range []string{"a.bin", "b.bin"} {
		p := filepath.Join(model, name)
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := fsio.NewHasher(filepath.Join(root, "model-hashes")).FileSHA256(p); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	if r, err := PruneCache(context.Background(), root, gc.Policy{}, false, nil); err != nil || len(r.Removed) != 0 {
		t.Fatalf("prune of unchanged records: removed %+v, %v", r, err)
	}
	if err := os.WriteFile(files[1], []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := PruneCache(context.Background(), root, gc.Policy{}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range r.Removed {
		got = append(got, e.Kind+" "+e.Name+" "+e.Reason)
	}
	if want := []string{"file hash record " + files[1] + " stale"}; !slices.Equal(got, want) {
		t.Errorf("removed %q, want %q", got, want)
	}
}
