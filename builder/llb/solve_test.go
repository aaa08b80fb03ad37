package llb_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/cache"
	hfllb "github.com/hfpack/hfpack/builder/llb"
	"github.com/hfpack/hfpack/builder/publish"
	"github.com/hfpack/hfpack/e2e/harness"
	"github.com/hfpack/hfpack/lockfile/indextest"
)

// env is a buildkitd, a registry holding the harness's Debian base with
// CPython, and a wheel server, all on this host.
type env struct {
	bk   *harness.BuildKit
	reg  *harness.Registry
	base builder.BaseInput
	srv  *indextest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("needs buildkitd, a registry and the base image (not with -short)")
	}
	reg := harness.StartRegistry(t)
	bk := harness.StartBuildKit(t, harness.WithInsecureRegistry(reg.Addr))
	b := harness.Base(t, harness.DefaultBase())
	ref := b.Push(t, reg, "hfpack/base")
	cf, err := b.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	srv := indextest.NewServer()
	t.Cleanup(srv.Close)
	return &env{bk: bk, reg: reg, srv: srv, base: builder.BaseInput{
		Ref: ref.Context().String(), Digest: ref.DigestStr(), Env: cf.Config.Env,
		Python: "/usr/bin/python3", SitePackages: "/usr/lib/python3/dist-packages",
	}}
}

// solve builds p on the daemon into a fresh OCI layout and returns the image.
func (e *env) solve(t *testing.T, p *builder.Plan, f *fixture, opts ...hfllb.SolveOption) (v1.Image, *hfllb.Result) {
	t.Helper()
	dir := t.TempDir()
	var progress bytes.Buffer
	opts = append([]hfllb.SolveOption{hfllb.WithInstaller(installer(t)), hfllb.WithProgress(&progress),
		hfllb.WithOCILayout(dir, "tiny:latest"), hfllb.WithLowerOptions(hfllb.WithWheelURLs(f.url))}, opts...)
	res, err := hfllb.Solve(t.Context(), e.bk.Addr, p, opts...)
	if err != nil {
		t.Fatalf("solve: %v\nprogress:\n%s", err, progress.String())
	}
	if !strings.Contains(progress.String(), "hfpack: site-packages-0: installing 2 wheels") {
		t.Errorf("progress does not show the install step:\n%s", progress.String())
	}
	return readLayout(t, dir), res
}

func readLayout(t *testing.T, dir string) v1.Image {
	t.Helper()
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	ii, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("layout %s holds %d manifests, want 1", dir, len(im.Manifests))
	}
	img, err := ii.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func embedded(t *testing.T, p *builder.Plan) v1.Image {
	t.Helper()
	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	img, err := builder.Build(t.Context(), p, builder.WithCache(c))
	if err != nil {
		t.Fatalf("embedded build: %v", err)
	}
	return img
}

// tinyRuntime is an extracted "Python runtime": an interpreter stub, a
// library file and a symlink, as python-build-standalone lays them out.
func tinyRuntime(t *testing.T) *builder.Runtime {
	dir := t.TempDir()
	writeFile(t, dir, "bin/python3.11", pattern(2000, 5), 0o755)
	writeFile(t, dir, "lib/python3.11/os.py", []byte("# os\n"), 0o644)
	if err := os.Symlink("python3.11", filepath.Join(dir, "bin", "python3")); err != nil {
		t.Fatal(err)
	}
	return &builder.Runtime{Dir: dir, Prefix: "/opt/hfpack/python",
		URL: "https://runtimes.example/cpython-3.11.tar.gz", SHA256: strings.Repeat("c", 64)}
}

func TestSolveMatchesEmbeddedBuilder(t *testing.T) {
	e := newEnv(t)
	f := newFixture(t, e.base, e.srv)
	f.inputs.Runtime = tinyRuntime(t)
	p := f.plan(t)
	got, res := e.solve(t, p, f)
	want := embedded(t, p)

	wantCF, err := want.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	gotCF, err := got.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantCF, gotCF, cmpopts.IgnoreFields(v1.ConfigFile{}, "RootFS")); diff != "" {
		t.Errorf("image config (-embedded +buildkit):\n%s", diff)
	}
	if g, w := len(gotCF.RootFS.DiffIDs), len(wantCF.RootFS.DiffIDs); g != w {
		t.Errorf("buildkit image has %d layers, the embedded builder's %d", g, w)
	}
	wantFS, gotFS := flatten(t, want), flatten(t, got)
	t.Logf("buildkit image %s: %d layers, %d paths compared", res.Digest, len(gotCF.RootFS.DiffIDs), len(gotFS))
	if diff := cmp.Diff(wantFS, gotFS); diff != "" {
		t.Errorf("unpacked file trees (-embedded +buildkit):\n%s", diff)
	}
	for _, p := range []string{"/usr/local/bin/alpha", "/usr/lib/python3/dist-packages/alpha/cli.py",
		"/opt/hfpack/model/model.safetensors", "/opt/hfpack/model/sub/config-link.json", builder.SidecarImagePath,
		"/opt/hfpack/python/bin/python3"} {
		if _, ok := gotFS[p]; !ok {
			t.Errorf("buildkit image lacks %s", p)
		}
	}

	// After a full prune, nothing is cached: the image is rebuilt from
	// scratch and must come out the same.
	if _, err := e.bk.Buildctl(t.Context(), nil, "prune", "--all"); err != nil {
		t.Fatal(err)
	}
	// The same solve also pushes and writes a docker archive.
	push := e.reg.Addr + "/hfpack/tiny:latest"
	archive := filepath.Join(t.TempDir(), "tiny.tar")
	_, res2 := e.solve(t, p, f, hfllb.WithPush(push, true), hfllb.WithDockerArchive(archive, "tiny:latest"))
	if res.Digest == "" || res.Digest != res2.Digest {
		t.Errorf("digest after prune --all: %q, first build %q", res2.Digest, res.Digest)
	}
	ref, err := name.ParseReference(push)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := remote.Head(ref); err != nil {
		t.Errorf("pushed image: %v", err)
	} else if d.Digest.String() != res.Digest {
		t.Errorf("pushed %s, want %s", d.Digest, res.Digest)
	}
	if fi, err := os.Stat(archive); err != nil || fi.Size() == 0 {
		t.Errorf("docker archive not written: %v", err)
	}
}

func TestBuildctlSolvesEmittedDefinition(t *testing.T) {
	e := newEnv(t)
	f := newFixture(t, e.base, e.srv)
	p := f.plan(t)
	var def bytes.Buffer
	if _, err := hfllb.Emit(t.Context(), &def, p, hfllb.WithWheelURLs(f.url)); err != nil {
		t.Fatal(err)
	}
	// The local sources as a user passes them to buildctl.
	locals := t.TempDir()
	if err := hfllb.WriteLocals(p, installer(t), locals, hfllb.WithWheelURLs(f.url)); err != nil {
		t.Fatal(err)
	}
	files, bin := filepath.Join(locals, hfllb.LocalFiles), filepath.Join(locals, hfllb.LocalInstaller)
	out := filepath.Join(t.TempDir(), "image.tar")
	if _, err := e.bk.Buildctl(t.Context(), &def, "build",
		"--local", hfllb.LocalFiles+"="+files, "--local", hfllb.LocalInstaller+"="+bin,
		"--output", "type=oci,dest="+out); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		t.Fatalf("buildctl wrote no image: %v", err)
	}
}

func TestSolveChecksumMismatchNamesWheel(t *testing.T) {
	e := newEnv(t)
	f := newFixture(t, e.base, e.srv)
	// The server's copy of gamma is not the locked one.
	locked := indextest.MustBuildWheel(indextest.WheelSpec{Name: "gamma", Version: "3.0"})
	fn := indextest.WheelSpec{Name: "gamma", Version: "3.0"}.Filename()
	e.srv.AddFile("gamma", fn, indextest.MustBuildWheel(indextest.WheelSpec{Name: "gamma", Version: "3.0", Summary: "tampered"}))
	f.urls[sha(locked)] = e.srv.FileURL(fn)
	f.inputs.Wheels = append(f.inputs.Wheels, builder.Wheel{Name: "gamma", Version: "3.0", Filename: fn,
		Path: writeFile(t, t.TempDir(), fn, locked, 0o644), SHA256: sha(locked), Size: int64(len(locked))})
	_, err := hfllb.Solve(t.Context(), e.bk.Addr, f.plan(t), hfllb.WithInstaller(installer(t)),
		hfllb.WithOCILayout(t.TempDir(), "tiny:latest"), hfllb.WithLowerOptions(hfllb.WithWheelURLs(f.url)))
	if err == nil {
		t.Fatal("solve with a tampered wheel succeeded")
	}
	if !strings.Contains(err.Error(), fn) {
		t.Errorf("error does not name the wheel %s: %v", fn, err)
	}
	t.Logf("error: %v", err)
}

func TestSolveWheelsWithoutURLsFromLocalFiles(t *testing.T) {
	e := newEnv(t)
	f := newFixture(t, e.base, nil) // no server: the wheels have no URL
	p := f.plan(t)
	noURL := hfllb.WithLowerOptions(hfllb.WithWheelURLs(func(builder.WheelRef) string { return "" }))
	got, _ := e.solve(t, p, f, noURL)
	if diff := cmp.Diff(flatten(t, embedded(t, p)), flatten(t, got)); diff != "" {
		t.Errorf("unpacked file trees (-embedded +buildkit):\n%s", diff)
	}
}

// Every file the graph writes already carries the epoch, so without the
// exporter's rewrite-timestamp the image is the same after buildctl prune
// --all, and on another daemon (another state directory, time zone and
// umask) building from sources with other modification times.
func TestSolveIsReproducibleAcrossPrunesAndDaemons(t *testing.T) {
	e := newEnv(t)
	f := newFixture(t, e.base, e.srv)
	p := f.plan(t)
	img, first := e.solve(t, p, f)
	if diff := cmp.Diff(flatten(t, embedded(t, p)), flatten(t, img)); diff != "" {
		t.Errorf("unpacked file trees (-embedded +buildkit):\n%s", diff)
	}
	if _, err := e.bk.Buildctl(t.Context(), nil, "prune", "--all"); err != nil {
		t.Fatal(err)
	}
	_, second := e.solve(t, p, f)
	if first.Digest != second.Digest {
		t.Errorf("digest after prune --all: %s, first build %s", second.Digest, first.Digest)
	}

	// Another machine: its own daemon, started in another zone with another
	// umask, and the sources touched.
	t.Setenv("TZ", "Asia/Kolkata")
	old := syscall.Umask(0o077)
	other := *e
	other.bk = harness.StartBuildKit(t, harness.WithInsecureRegistry(e.reg.Addr))
	syscall.Umask(old)
	later := time.Now().Add(48 * time.Hour)
	for _, src := range sources(p) {
		if err := os.Chtimes(src, later, later); err != nil {
			t.Fatal(err)
		}
	}
	_, third := other.solve(t, f.plan(t), f)
	if third.Digest != first.Digest {
		t.Errorf("digest on another daemon: %s, first build %s", third.Digest, first.Digest)
	}
}

// sources lists the local files a plan's layers are made from.
func sources(p *builder.Plan) []string {
	var out []string
	for _, l := range p.Layers {
		for _, f := range l.Files {
			if f.Source != "" {
				out = append(out, f.Source)
			}
		}
		for _, w := range l.Wheels {
			out = append(out, w.Source)
		}
	}
	return out
}

// The Backend's export store receives from the daemon only the blobs it
// lacks: everything the first time, nothing on a rebuild of the same plan,
// and the changed layer with its config and manifest after a handler edit.
// The image it reads back is the one the daemon built.
func TestBackendReceivesOnlyNewBlobs(t *testing.T) {
	e := newEnv(t)
	f := newFixture(t, e.base, e.srv)
	p := f.plan(t)
	_, res := e.solve(t, p, f)
	store, err := hfllb.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	be := hfllb.NewBackend(e.bk.Addr, store, hfllb.WithInstaller(installer(t)), hfllb.WithLowerOptions(hfllb.WithWheelURLs(f.url)))
	build := func(p *builder.Plan) (v1.Image, int64) {
		t.Helper()
		before := store.Received()
		r, err := be.Build(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Image(r.Image); err != nil {
			t.Errorf("validate.Image(image read back) = %v", err)
		}
		return r.Image, store.Received() - before
	}
	img, n := build(p)
	if d, _ := img.Digest(); d.String() != res.Digest {
		t.Errorf("Backend built %s, the same plan exported as a layout %s", d, res.Digest)
	}
	layers, _ := img.Layers()
	if want := int64(len(layers) + 2); n != want {
		t.Errorf("first build: store received %d blobs, want %d (every layer, the config and the manifest)", n, want)
	}
	if _, n := build(p); n != 0 {
		t.Errorf("rebuild of the same plan: store received %d blobs, want 0", n)
	}
	writeFile(t, filepath.Dir(f.inputs.AppFiles[0].Source), filepath.Base(f.inputs.AppFiles[0].Source), []byte("def predict(x):\n    return [x]\n"), 0o644)
	if _, n := build(f.plan(t)); n != 3 {
		t.Errorf("after a handler edit: store received %d blobs, want 3 (the app layer, the config and the manifest)", n)
	}
}

// With WithDaemonPush the daemon pushes the image into the repository by
// digest, leaving the tag to the caller: the store receives nothing, the
// image read back is the one the same plan exports, nothing is tagged until
// it is published, and publishing it to a tag uploads no layer.
func TestBackendDaemonPushLeavesTheTag(t *testing.T) {
	e := newEnv(t)
	f := newFixture(t, e.base, e.srv)
	p := f.plan(t)
	_, res := e.solve(t, p, f)
	store, err := hfllb.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	repo := e.reg.Addr + "/hfpack/pushed"
	be := hfllb.NewBackend(e.bk.Addr, store, hfllb.WithInstaller(installer(t)),
		hfllb.WithLowerOptions(hfllb.WithWheelURLs(f.url)), hfllb.WithDaemonPush(repo))
	r, err := be.Build(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := r.Image.Digest(); d.String() != res.Digest {
		t.Errorf("daemon push built %s, the same plan exported as a layout %s", d, res.Digest)
	}
	if n := store.Received(); n != 0 {
		t.Errorf("store received %d blobs, want 0: the daemon pushes", n)
	}
	if err := validate.Image(r.Image); err != nil {
		t.Errorf("validate.Image(pushed image) = %v", err)
	}
	tag, err := name.NewTag(repo + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(tag); err == nil {
		t.Errorf("%s:latest exists before the image is published: the daemon moved the tag", repo)
	}
	var uploaded int64
	ch := make(chan v1.Update, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u := range ch {
			uploaded = u.Complete
		}
	}()
	if _, err := publish.Publish(t.Context(), r.Image, publish.Target{Kind: publish.Registry, Ref: repo + ":latest"}, publish.WithProgress(ch)); err != nil {
		t.Fatal(err)
	}
	<-done
	desc, err := remote.Head(tag)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != res.Digest {
		t.Errorf("%s:latest is %s, want %s", repo, desc.Digest, res.Digest)
	}
	if uploaded != 0 {
		t.Errorf("publishing the pushed image uploaded %d bytes, want 0", uploaded)
	}
}
