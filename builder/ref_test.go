package builder_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/layer"
	"github.com/hfpack/hfpack/builder/publish"
)

// Uncompressed model layers are not copied into the cache, yet a rebuild
// reuses them, and a stored-blob build gives the same image.
func TestWeightsAreNotCopiedIntoCache(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	cacheDir := t.TempDir()
	img, plan, r := build(t, p, cacheDir)
	for i, l := range r.Layers {
		_, err := os.Stat(layer.BlobPath(filepath.Join(cacheDir, "blobs"), l.Digest))
		model := strings.HasPrefix(plan.Layers[i].Name, "model-")
		if model && err == nil {
			t.Errorf("layer %s: blob copied into the cache", l.Name)
		}
		if !model && err != nil {
			t.Errorf("layer %s: blob not in the cache: %v", l.Name, err)
		}
	}
	_, _, again := build(t, p, cacheDir)
	for _, l := range again.Layers {
		if !l.Cached {
			t.Errorf("rebuild: layer %s not reused", l.Name)
		}
	}
	stored, _, _ := build(t, p, t.TempDir(), builder.WithStoredBlobs())
	if digest(t, img) != digest(t, stored) {
		t.Errorf("digest %s by reference, %s with stored blobs", digest(t, img), digest(t, stored))
	}

	// Touching a weight file only re-describes its layer; the digest stays.
	w := filepath.Join(p.inputs.ModelDir, "model-00001.safetensors")
	later := time.Now().Add(time.Hour)
	os.Chtimes(w, later, later)
	img2, _, r2 := build(t, p, cacheDir)
	for _, l := range r2.Layers {
		if l.Cached == (l.Name == "model-0") {
			t.Errorf("after touching model-00001: layer %s cached=%t", l.Name, l.Cached)
		}
	}
	if digest(t, img) != digest(t, img2) {
		t.Error("touching a weight file changed the digest")
	}
}

// A weight file rewritten between build and publish, with its size and
// mtime restored, is caught by the digest check instead of being shipped.
func TestChangedWeightsFailPublish(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	img, _, _ := build(t, p, t.TempDir())
	w := filepath.Join(p.inputs.ModelDir, "model-00001.safetensors")
	fi, _ := os.Stat(w)
	b, _ := os.ReadFile(w)
	b[0] ^= 0xff
	os.WriteFile(w, b, 0o644)
	os.Chtimes(w, fi.ModTime(), fi.ModTime())
	out := filepath.Join(t.TempDir(), "oci")
	_, err := publish.Publish(context.Background(), img, publish.Target{Kind: publish.OCI, Path: out})
	if !errors.Is(err, layer.ErrDigestMismatch) {
		t.Errorf("Publish() after a weight changed = %v, want ErrDigestMismatch", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output exists after a failed publish: %v", err)
	}
}
