package builder_test

import (
	"context"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/cache"
)

// buildDigest is build for goroutines: it returns errors instead of failing.
func buildDigest(p *project, cacheDir string) (v1.Hash, error) {
	c, err := cache.Open(cacheDir)
	if err != nil {
		return v1.Hash{}, err
	}
	plan, err := builder.NewPlan(context.Background(), p.inputs, builder.WithCache(c))
	if err != nil {
		return v1.Hash{}, err
	}
	img, err := builder.Build(context.Background(), plan, builder.WithCache(c), builder.WithWheelInstaller(fakeInstaller))
	if err != nil {
		return v1.Hash{}, err
	}
	return img.Digest()
}

// Builds sharing one cache directory at the same time agree and leave it usable.
func TestConcurrentBuildsShareCache(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	cacheDir := t.TempDir()
	var wg sync.WaitGroup
	digests := make([]v1.Hash, 4)
	for i := range digests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := buildDigest(p, cacheDir)
			if err != nil {
				t.Errorf("build %d: %v", i, err)
			}
			digests[i] = d
		}()
	}
	wg.Wait()
	for i, d := range digests {
		if d != digests[0] {
			t.Errorf("build %d: digest %s, build 0: %s", i, d, digests[0])
		}
	}
	_, _, r := build(t, p, cacheDir)
	for _, l := range r.Layers {
		if !l.Cached {
			t.Errorf("after concurrent builds, layer %s missed the cache", l.Name)
		}
	}
}
