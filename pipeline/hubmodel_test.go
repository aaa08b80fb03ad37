package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	buildcache "github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/hub/hubtest"
	"github.com/hfpack/hfpack/lockfile"
)

// TestFetchModelHashesOnce: a Hub model's files are hashed as they are
// downloaded, and that hash is what the check against the lock uses: it
// finds every file of the snapshot already recorded, so it reads none.
func TestFetchModelHashesOnce(t *testing.T) {
	s := hubtest.New(hubtest.Options{})
	defer s.Close()
	s.Commit("acme/tiny", "main", hubtest.Model(256<<10, 1))
	t.Setenv("HF_ENDPOINT", s.URL)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_TOKEN_PATH", filepath.Join(t.TempDir(), "none"))
	dir := t.TempDir()
	path := filepath.Join(dir, "hfpack.toml")
	manifest := "name = \"x\"\n\n[model]\nsource = \"hf://acme/tiny\"\ntask = \"text-classification\"\n\n" +
		"[python]\nversion = \"3.11\"\nrequirements = []\n\n[accelerator]\ntype = \"cpu\"\n"
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	ctx := context.Background()
	if _, err := p.Relock(ctx, lockfile.WithCacheDir(root)); err != nil {
		t.Fatal(err)
	}
	snap, err := p.FetchModel(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := FileHasher(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range p.Lock.HFPack.ModelFiles {
		src, err := buildcache.StatSource(filepath.Join(snap, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if sum, ok := hasher.KnownSHA256(src); !ok || sum != f.SHA256 {
			t.Errorf("%s: the check against the lock would read it again (recorded %q, %t)", f.Path, sum, ok)
		}
	}
	if err := p.CheckModelPinned(root); err != nil {
		t.Fatal(err)
	}
}
