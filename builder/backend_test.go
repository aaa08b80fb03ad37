package builder_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/cache"
)

// The embedded Backend is Build: the same image, and the same per-layer
// report (a rebuild says every layer was cached).
func TestEmbeddedBackendIsBuild(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	cacheDir := t.TempDir()
	build(t, p, cacheDir)
	want, _, report := build(t, p, cacheDir)
	c, err := cache.Open(cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := builder.NewPlan(context.Background(), p.inputs, builder.WithCache(c))
	if err != nil {
		t.Fatal(err)
	}
	var be builder.Backend = builder.Embedded(builder.WithCache(c), builder.WithWheelInstaller(fakeInstaller))
	got, err := be.Build(context.Background(), plan)
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, got.Image) != digest(t, want) {
		t.Errorf("Embedded().Build = %s, Build = %s", digest(t, got.Image), digest(t, want))
	}
	if len(got.Layers) != len(report.Layers) {
		t.Fatalf("Embedded().Build reported %d layers, Build %d", len(got.Layers), len(report.Layers))
	}
	for i, l := range got.Layers {
		if !l.Cached {
			t.Errorf("rebuild through the Backend: layer %s was rebuilt", l.Name)
		}
		l.Cached = report.Layers[i].Cached
		if diff := cmp.Diff(report.Layers[i], l); diff != "" {
			t.Errorf("layer %d (-Build +Backend):\n%s", i, diff)
		}
	}
}
