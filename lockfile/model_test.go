package lockfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/lockfile"
	"github.com/hfpack/hfpack/lockfile/pylock"
)

func TestHashModelFiles(t *testing.T) {
	dir, cacheDir := t.TempDir(), t.TempDir()
	writeModel(t, dir)
	blobs := t.TempDir() // Hugging Face snapshots link into a blobs directory
	if err := os.WriteFile(filepath.Join(blobs, "abc"), []byte("tokenizer"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(blobs, "abc"), filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	want := []pylock.ModelFile{
		{Path: "config.json", Size: 21, SHA256: sha256Hex([]byte(`{"model_type":"bert"}`))},
		{Path: "tokenizer.json", Size: 9, SHA256: sha256Hex([]byte("tokenizer"))},
		{Path: "weights/model.safetensors", Size: 7, SHA256: sha256Hex([]byte("weights"))},
	}
	got, err := lockfile.HashModelFiles(dir, cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("HashModelFiles (-want +got):\n%s", diff)
	}

	// Remembered under the cache directory.
	if recs, _ := os.ReadDir(filepath.Join(cacheDir, "model-hashes")); len(recs) != 3 {
		t.Errorf("%d hash records under the cache directory, want 3", len(recs))
	}
	weights := filepath.Join(dir, "weights", "model.safetensors")
	st, _ := os.Stat(weights)
	if err := os.WriteFile(weights, []byte("WEIGHTS"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A new mtime: hashed again.
	later := st.ModTime().Add(time.Second)
	if err := os.Chtimes(weights, later, later); err != nil {
		t.Fatal(err)
	}
	if got, _ := lockfile.HashModelFiles(dir, cacheDir); got[2].SHA256 != sha256Hex([]byte("WEIGHTS")) {
		t.Errorf("changed file kept its old hash %s", got[2].SHA256)
	}
}

func TestHashModelFilesMissingDir(t *testing.T) {
	_, err := lockfile.HashModelFiles(filepath.Join(t.TempDir(), "nope"), "")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}
