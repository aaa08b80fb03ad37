package builder_test

import (
	stdcmp "cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/tree"
)

func TestBuildIsValidOCI(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	img, plan, _ := build(t, newProject(t, baseDir, baseDigest), t.TempDir())
	validImage(t, img)
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("media types %s, %s; want OCI", m.MediaType, m.Config.MediaType)
	}
	if got, want := len(m.Layers), 1+len(plan.Layers); got != want {
		t.Errorf("%d layers, want base + %d", got, len(plan.Layers))
	}
	var names []string
	for _, l := range plan.Layers {
		names = append(names, l.Name)
	}
	want := []string{"site-packages-0", "model-0", "model-1", "model-2", "app", "sidecar"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("layer names (-want +got):\n%s", diff)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	wantCreated := time.Unix(1700000000, 0).UTC()
	if !cf.Created.Time.Equal(wantCreated) || cf.Created.Location() != time.UTC {
		t.Errorf("created = %v, want %v", cf.Created, wantCreated)
	}
	for _, h := range cf.History[1:] {
		if !h.Created.Time.Equal(wantCreated) {
			t.Errorf("history %q created %v, want %v", h.CreatedBy, h.Created, wantCreated)
		}
	}
	c := cf.Config
	wantEnv := []string{"LANG=C.UTF-8", "LD_LIBRARY_PATH=/usr/local/nvidia/lib64", "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/nvidia/bin"}
	if diff := cmp.Diff(wantEnv, c.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/usr/local/bin/hfpack-sidecar"}, c.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-want +got):\n%s", diff)
	}
	if c.User != "1000:1000" || c.Hostname != "" || c.WorkingDir != "/opt/hfpack/worker" {
		t.Errorf("user %q hostname %q workdir %q", c.User, c.Hostname, c.WorkingDir)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports %v, want 8080/tcp", c.ExposedPorts)
	}
	for k, v := range map[string]string{
		builder.LabelPackages:       "tiny==1.0",
		builder.LabelBaseDigest:     baseDigest.String(),
		builder.LabelVersion:        "v0.0.0-test",
		builder.LabelLockDigest:     "sha256:" + strings.Repeat("2", 64),
		builder.LabelManifestDigest: "sha256:" + strings.Repeat("1", 64),
	} {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
}

// The same inputs, from two checkouts made at different times, built into
// two empty caches under another zone and umask, give the same digest.
func TestBuildIsReproducible(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	first := digest(t, first(build(t, newProject(t, baseDir, baseDigest), t.TempDir())))

	oldLocal := time.Local
	time.Local = time.FixedZone("UTC+13:45", 13*3600+45*60)
	oldMask := syscall.Umask(0o077)
	defer func() { time.Local = oldLocal; syscall.Umask(oldMask) }()
	baseDir2, _ := baseLayout(t) // the same base, unpacked elsewhere
	p := newProject(t, baseDir2, baseDigest)
	touchAll(t, p.dir, time.Now().Add(-1000*time.Hour))
	second := digest(t, first2(build(t, p, t.TempDir())))
	if first != second {
		t.Errorf("digest %s, then %s in another zone, umask and checkout", first, second)
	}
}

func first(img v1.Image, _ *builder.Plan, _ *builder.Report) v1.Image  { return img }
func first2(img v1.Image, _ *builder.Plan, _ *builder.Report) v1.Image { return img }

func touchAll(t *testing.T, dir string, when time.Time) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if err := os.Chtimes(p, when, when); err != nil {
				t.Fatal(err)
			}
		}
		return nil
	})
}

// A golden digest of the fixture: it changes only when the layer format,
// the compressors or the config deliberately change.
func TestGoldenDigest(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	got := digest(t, first(build(t, newProject(t, baseDir, baseDigest), t.TempDir()))).String()
	if os.Getenv("HFPACK_UPDATE_GOLDEN") != "" {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile("testdata/golden", []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/golden")
	if err != nil {
		t.Fatal(err)
	}
	if got != strings.TrimSpace(string(want)) {
		t.Errorf("image digest = %s, want %s (HFPACK_UPDATE_GOLDEN=1 rewrites testdata/golden after a deliberate change)", got, want)
	}
}

func TestRebuildDoesNoLayerWork(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	cacheDir := t.TempDir()
	img1, _, r1 := build(t, p, cacheDir)
	for _, l := range r1.Layers {
		if l.Cached {
			t.Errorf("cold build: layer %s came from an empty cache", l.Name)
		}
	}
	// Make every input unreadable: a rebuild must not open any of them.
	os.Rename(p.inputs.SidecarPath, p.inputs.SidecarPath+".gone")
	os.Rename(p.inputs.Wheels[0].Path, p.inputs.Wheels[0].Path+".gone")
	os.Rename(p.inputs.SidecarPath+".gone", p.inputs.SidecarPath)
	img2, _, r2 := build(t, p, cacheDir, builder.WithWheelInstaller(func(*tree.Tree, builder.WheelRef, builder.Base) error {
		t.Error("rebuild ran the wheel installer")
		return nil
	}))
	for _, l := range r2.Layers {
		if !l.Cached {
			t.Errorf("no-op rebuild: layer %s was rebuilt", l.Name)
		}
	}
	if digest(t, img1) != digest(t, img2) {
		t.Error("no-op rebuild changed the digest")
	}
}

func TestHandlerChangeRebuildsOneLayer(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	cacheDir := t.TempDir()
	build(t, p, cacheDir)
	writeFile(t, p.dir, "handler.py", []byte("def predict(x):\n    return [x]\n"), 0o644)
	_, _, r := build(t, p, cacheDir)
	var rebuilt []string
	for _, l := range r.Layers {
		if !l.Cached {
			rebuilt = append(rebuilt, l.Name)
		}
	}
	if diff := cmp.Diff([]string{"app"}, rebuilt); diff != "" {
		t.Errorf("rebuilt layers (-want +got):\n%s", diff)
	}
}

func TestPlanErrors(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	for _, tc := range []struct {
		name    string
		change  func(p *project)
		wantErr error
		wantMsg string
	}{
		{"AIP variable", func(p *project) { p.inputs.Env = []string{"AIP_HTTP_PORT=8080"} }, builder.ErrInvalidInputs, "AIP_HTTP_PORT"},
		{"unpinned base", func(p *project) { p.inputs.Base.Digest = "latest" }, builder.ErrInvalidInputs, "pinned"},
		{"bad wheel hash", func(p *project) { p.inputs.Wheels[0].SHA256 = "xyz" }, builder.ErrInvalidInputs, "tiny-1.0-py3-none-any.whl"},
		{"symlink outside", func(p *project) {
			os.Symlink("/etc/passwd", filepath.Join(p.inputs.ModelDir, "sub", "evil"))
		}, builder.ErrModelSymlink, filepath.Join("sub", "evil")},
		{"relative symlink outside", func(p *project) {
			os.Symlink("../../handler.py", filepath.Join(p.inputs.ModelDir, "sub", "evil"))
		}, builder.ErrModelSymlink, filepath.Join("sub", "evil")},
		{"missing app file", func(p *project) { p.inputs.AppFiles[0].Source += ".nope" }, builder.ErrInvalidInputs, "handler.py"},
		{"bad compression", func(p *project) { p.inputs.Compression.Weights = "lz4" }, builder.ErrInvalidInputs, "lz4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProject(t, baseDir, baseDigest)
			tc.change(p)
			_, err := builder.NewPlan(context.Background(), p.inputs)
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("NewPlan() = %v, want %v naming %q", err, tc.wantErr, tc.wantMsg)
			}
		})
	}
}

func TestWrongWheelHashFailsBuild(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	p.inputs.Wheels[0].SHA256 = strings.Repeat("0", 64)
	c, _ := cache.Open(t.TempDir())
	plan, err := builder.NewPlan(context.Background(), p.inputs, builder.WithCache(c))
	if err != nil {
		t.Fatal(err)
	}
	_, err = builder.Build(context.Background(), plan, builder.WithCache(c), builder.WithWheelInstaller(fakeInstaller))
	if err == nil || !strings.Contains(err.Error(), "tiny-1.0-py3-none-any.whl") {
		t.Errorf("Build() = %v, want an error naming the wheel", err)
	}
	entries, _ := os.ReadDir(filepath.Join(c.Dir(), "layers"))
	for _, e := range entries {
		if strings.Contains(e.Name(), plan.Layers[0].Key) {
			t.Errorf("cache recorded the failed site-packages layer: %s", e.Name())
		}
	}
}

func TestModelLayout(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	plan, err := builder.NewPlan(context.Background(), p.inputs)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, l := range plan.Layers {
		if strings.HasPrefix(l.Name, "model-") {
			for _, f := range l.Files {
				got[l.Name] = append(got[l.Name], f.Path+"|"+f.Linkname)
			}
		}
	}
	want := map[string][]string{
		"model-0": {"opt/hfpack/model/model-00001.safetensors|"},
		"model-1": {"opt/hfpack/model/model-00002.safetensors|"},
		"model-2": {"opt/hfpack/model/config.json|", "opt/hfpack/model/sub/config-link.json|../config.json", "opt/hfpack/model/sub/tokenizer.json|"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("model layers (-want +got):\n%s", diff)
	}

	p.inputs.MaxModelLayers = 1
	plan, err = builder.NewPlan(context.Background(), p.inputs)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(plan.Layers[1].Files); plan.Layers[1].Name != "model-0" || n != 2 {
		t.Errorf("with MaxModelLayers 1: %s has %d files, want model-0 with both large files", plan.Layers[1].Name, n)
	}
}

// validImage checks img's structure with validate.Image (Fast: it assumes
// gzip layers) and every layer's digest and diffID by reading it.
func validImage(t *testing.T, img v1.Image) {
	t.Helper()
	if err := validate.Image(img, validate.Fast); err != nil {
		t.Fatalf("validate.Image() = %v", err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range layers {
		for _, c := range []struct {
			open func() (io.ReadCloser, error)
			want func() (v1.Hash, error)
		}{{l.Compressed, l.Digest}, {l.Uncompressed, l.DiffID}} {
			rc, err := c.open()
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := v1.SHA256(rc)
			rc.Close()
			want, _ := c.want()
			if err != nil || got != want {
				t.Errorf("layer %d: read sha256 %s (%v), want %s", i, got, err, want)
			}
		}
	}
}

func TestWheelLayers(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	w := p.inputs.Wheels[0]
	mk := func(name string, size int64) builder.Wheel {
		w := w
		w.Name, w.Filename, w.Size = name, name+"-1.0-py3-none-any.whl", size
		return w
	}
	p.inputs.Wheels = []builder.Wheel{mk("torch", 9000), mk("six", 10), mk("nvidia_cublas", 5000), mk("numpy", 3000), mk("idna", 20)}
	p.inputs.MaxWheelLayers = 2
	plan, err := builder.NewPlan(context.Background(), p.inputs)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, l := range plan.Layers {
		for _, w := range l.Wheels {
			got[l.Name] = append(got[l.Name], w.Name)
		}
	}
	want := map[string][]string{
		"site-packages-0": {"torch"},
		"site-packages-1": {"numpy", "nvidia_cublas"},
		"site-packages-2": {"idna", "six"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("wheel layers (-want +got):\n%s", diff)
	}
}

// Small wheels share layers of about LargeFile of wheels each, so that many
// of them build on every core; each is placed by its name, so a new version
// of one wheel changes only its own layer.
func TestSmallWheelLayersFollowNames(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	w := p.inputs.Wheels[0]
	var wheels []builder.Wheel
	for i := range 12 {
		w := w
		w.Name = fmt.Sprintf("w%02d", i)
		w.Filename, w.Size = w.Name+"-1.0-py3-none-any.whl", 200
		wheels = append(wheels, w)
	}
	p.inputs.LargeFile = 1000 // 2400 bytes of small wheels: 3 layers
	layers := func(ws []builder.Wheel) map[string]string {
		t.Helper()
		p.inputs.Wheels = ws
		plan, err := builder.NewPlan(context.Background(), p.inputs)
		if err != nil {
			t.Fatal(err)
		}
		byWheel := map[string]string{} // wheel name -> its layer's key
		n := 0
		for _, l := range plan.Layers {
			if len(l.Wheels) > 0 {
				n++
			}
			for _, w := range l.Wheels {
				if _, dup := byWheel[w.Name]; dup {
					t.Fatalf("%s is in two layers", w.Name)
				}
				byWheel[w.Name] = l.Key
			}
		}
		if n < 2 || n > 3 {
			t.Errorf("%d site-packages layers for 2400 bytes of small wheels at LargeFile 1000, want 2 or 3", n)
		}
		return byWheel
	}
	before := layers(wheels)
	if len(before) != len(wheels) {
		t.Fatalf("%d wheels in the layers, want %d", len(before), len(wheels))
	}
	bumped := slices.Clone(wheels)
	bumped[5].Version, bumped[5].Filename, bumped[5].Size = "1.1", "w05-1.1-py3-none-any.whl", 230
	after := layers(bumped)
	for name, key := range before {
		sameLayer := before[name] == before["w05"]
		if changed := after[name] != key; changed != sameLayer {
			t.Errorf("after a new version of w05, %s's layer changed: %t, want %t (it shares w05's layer: %t)", name, changed, sameLayer, sameLayer)
		}
	}
}

// With one job, layers are written largest first (by the plan's size): the
// weights, read and pushed the longest, start at once instead of last.
func TestLayersWrittenLargestFirst(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	var got []v1.Hash
	img, plan, _ := build(t, p, t.TempDir(), builder.WithJobs(1), builder.WithLayerReady(func(l v1.Layer) {
		d, err := l.Digest()
		if err != nil {
			t.Error(err)
		}
		got = append(got, d)
	}))
	all, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	index := map[v1.Hash]int{} // the plan's layers are the image's last
	for i, l := range all[len(all)-len(plan.Layers):] {
		d, _ := l.Digest()
		index[d] = i
	}
	var sizes []int64
	for _, d := range got {
		sizes = append(sizes, plan.Layers[index[d]].Size)
	}
	if len(got) != len(plan.Layers) || !slices.IsSortedFunc(sizes, func(a, b int64) int { return stdcmp.Compare(b, a) }) {
		t.Errorf("layers written with sizes %v, want all %d of them, largest first", sizes, len(plan.Layers))
	}
}

// WithLayerReady hands over each layer Build adds, once, before Build
// returns, cold or from the cache: what a caller pushes early is exactly
// the image's own layers.
func TestLayerReadyGetsEachLayer(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	cacheDir := t.TempDir()
	for _, run := range []string{"cold", "cached"} {
		var mu sync.Mutex
		got := map[v1.Hash]int{}
		img, plan, _ := build(t, p, cacheDir, builder.WithLayerReady(func(l v1.Layer) {
			d, err := l.Digest()
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			got[d]++
			mu.Unlock()
		}))
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		own := layers[len(layers)-len(plan.Layers):]
		if len(got) != len(own) {
			t.Errorf("%s build: %d layers handed over, want the plan's %d", run, len(got), len(own))
		}
		for _, l := range own {
			d, _ := l.Digest()
			if got[d] != 1 {
				t.Errorf("%s build: layer %s handed over %d times, want once", run, d, got[d])
			}
		}
	}
}
