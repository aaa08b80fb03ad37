package builder_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/cache"
)

// A Plan printed as JSON (`hfpack build --plan`) reads back into the same
// Plan and builds the same image.
func TestPlanJSONRoundTrip(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	img, plan, _ := build(t, p, t.TempDir())
	b, err := json.MarshalIndent(plan, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var back builder.Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(plan, &back, cmpopts.IgnoreUnexported(builder.Plan{})); diff != "" {
		t.Errorf("plan after a JSON round trip (-want +got):\n%s", diff)
	}
	c, _ := cache.Open(t.TempDir())
	img2, err := builder.Build(context.Background(), &back, builder.WithCache(c), builder.WithWheelInstaller(fakeInstaller))
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, img) != digest(t, img2) {
		t.Errorf("image from the read-back plan: %s, want %s", digest(t, img2), digest(t, img))
	}
	if strings.Contains(string(b), "AIP_") {
		t.Error("plan mentions an AIP_ variable")
	}
}

func TestBuildFailsOnMissingBase(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	p.inputs.Base.Digest = "sha256:" + strings.Repeat("f", 64)
	c, _ := cache.Open(t.TempDir())
	plan, err := builder.NewPlan(context.Background(), p.inputs, builder.WithCache(c))
	if err != nil {
		t.Fatal(err)
	}
	var r builder.Report
	_, err = builder.Build(context.Background(), plan, builder.WithCache(c), builder.WithReport(&r))
	if err == nil || !strings.Contains(err.Error(), strings.Repeat("f", 64)) {
		t.Errorf("Build() on a missing base = %v, want an error naming its digest", err)
	}
	if len(r.Layers) != 0 {
		t.Errorf("layers built before the base was found: %+v", r.Layers)
	}
}

// NewPlan hands ModelCheck the sha256 of every regular model file, hashed
// in the read that made the model's layers (with a cache and without), and
// fails with its error: how a build checks a lock's pins without reading
// the weights again.
func TestNewPlanModelCheck(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	want := map[string]string{
		"config.json":             sha([]byte(`{"a":1}`)),
		"model-00001.safetensors": sha(pattern(3000, 1)),
		"model-00002.safetensors": sha(pattern(2500, 2)),
		"sub/tokenizer.json":      sha([]byte(`{}`)),
	}
	for _, cached := range []bool{true, false} {
		var got map[string]string
		in := p.inputs
		in.ModelCheck = func(sums map[string]string) error { got = sums; return nil }
		var opts []builder.Option
		if cached {
			c, _ := cache.Open(t.TempDir())
			opts = append(opts, builder.WithCache(c))
		}
		if _, err := builder.NewPlan(context.Background(), in, opts...); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("cache %v: ModelCheck's sums (-want +got):\n%s", cached, diff)
		}
		refused := errors.New("model changed")
		in.ModelCheck = func(map[string]string) error { return refused }
		if _, err := builder.NewPlan(context.Background(), in, opts...); !errors.Is(err, refused) {
			t.Errorf("cache %v: NewPlan with a failing ModelCheck: %v, want %v", cached, err, refused)
		}
	}
}
