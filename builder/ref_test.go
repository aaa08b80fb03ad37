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
	"github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/layer"
	"github.com/hfpack/hfpack/builder/publish"
	"github.com/hfpack/hfpack/internal/readcount"
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

// A cold build reads each model file once: the plan's file hashes and the
// layer's digest come from the same read, so Build reads none of the
// weights again. The image and the layer keys are the ones a build with
// another cache and a plan without any cache give.
func TestColdBuildReadsModelOnce(t *testing.T) {
	if _, err := readcount.Bytes(); err != nil {
		t.Skipf("no /proc/self/io: %v", err)
	}
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	const big = 32 << 20
	writeFile(t, p.inputs.ModelDir, "model-00003.safetensors", pattern(big, 3), 0o644)
	want, wantPlan, _ := build(t, p, t.TempDir())

	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before, _ := readcount.Bytes()
	plan, err := builder.NewPlan(ctx, p.inputs, builder.WithCache(c))
	if err != nil {
		t.Fatal(err)
	}
	var r builder.Report
	img, err := builder.Build(ctx, plan, builder.WithCache(c), builder.WithWheelInstaller(fakeInstaller), builder.WithReport(&r))
	if err != nil {
		t.Fatal(err)
	}
	after, _ := readcount.Bytes()
	if read := after - before; read < big || read > big+big/2 {
		t.Errorf("cold plan and build read %d bytes for %d bytes of weights, want them read once", read, big)
	}
	for _, l := range r.Layers {
		if l.Cached {
			t.Errorf("cold build: layer %s reported as cached", l.Name)
		}
	}
	if digest(t, img) != digest(t, want) {
		t.Errorf("digest %s, want %s", digest(t, img), digest(t, want))
	}
	bare, err := builder.NewPlan(ctx, p.inputs)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range bare.Layers {
		if l.Key != wantPlan.Layers[i].Key || l.Key != plan.Layers[i].Key {
			t.Errorf("layer %s: key %s without a cache, %s and %s with one", l.Name, l.Key, wantPlan.Layers[i].Key, plan.Layers[i].Key)
		}
	}
}

// A rewritten model file is hashed again, not taken from the records the
// first plan left.
func TestPlanRehashesRewrittenModelFile(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := builder.NewPlan(ctx, p.inputs, builder.WithCache(c)); err != nil {
		t.Fatal(err)
	}
	w := filepath.Join(p.inputs.ModelDir, "model-00001.safetensors")
	b, _ := os.ReadFile(w)
	os.WriteFile(w, append(b, "more"...), 0o644)
	plan, err := builder.NewPlan(ctx, p.inputs, builder.WithCache(c))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range plan.Layers {
		for _, f := range l.Files {
			if f.Source == w && f.SHA256 != sha(append(b, "more"...)) {
				t.Errorf("sha256 of the rewritten file = %s, want the new contents' hash", f.SHA256)
			}
		}
	}
}
