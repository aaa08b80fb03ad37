package builder_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/layer"
	"github.com/hfpack/hfpack/builder/tree"
)

// writeFile writes a file under dir and returns its path.
func writeFile(t *testing.T, dir, rel string, data []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// pattern returns n deterministic pseudo-random bytes.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

// baseLayout writes a small fixed base image (a layer with /etc/os-release
// and a python stub) to an OCI layout and returns its path and digest.
func baseLayout(t *testing.T) (string, v1.Hash) {
	t.Helper()
	tr := tree.New()
	tr.AddBytes("etc/os-release", 0o644, []byte("ID=test\n"))
	tr.AddBytes("usr/bin/python3", 0o755, []byte("#!/bin/sh\n"))
	l, err := layer.Write(context.Background(), tr, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: l, MediaType: types.OCILayer})
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}
	cf.Config.Hostname = "buildhost"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.OCIConfigJSON)
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return dir, d
}

// project is a checkout of a tiny hfpack project: wheels, a model, the
// worker and handler, the sidecar.
type project struct {
	dir    string
	inputs builder.Inputs
}

// newProject lays out the fixture under a fresh directory. The same
// arguments give the same bytes; mtimes are whatever the clock says.
func newProject(t *testing.T, baseDir string, baseDigest v1.Hash) *project {
	t.Helper()
	dir := t.TempDir()
	wheel := []byte("fake wheel: tiny==1.0\n")
	wp := writeFile(t, dir, "wheels/tiny-1.0-py3-none-any.whl", wheel, 0o644)
	model := filepath.Join(dir, "model")
	writeFile(t, model, "config.json", []byte(`{"a":1}`), 0o600)
	writeFile(t, model, "model-00001.safetensors", pattern(3000, 1), 0o644)
	writeFile(t, model, "model-00002.safetensors", pattern(2500, 2), 0o644)
	writeFile(t, model, "sub/tokenizer.json", []byte(`{}`), 0o644)
	if err := os.Symlink("../config.json", filepath.Join(model, "sub", "config-link.json")); err != nil {
		t.Fatal(err)
	}
	handler := writeFile(t, dir, "handler.py", []byte("def predict(x):\n    return x\n"), 0o644)
	worker := writeFile(t, dir, "worker.py", []byte("import json\n"), 0o755)
	sidecar := writeFile(t, dir, "hfpack-sidecar", pattern(4096, 9), 0o755)
	return &project{dir: dir, inputs: builder.Inputs{
		Name: "tiny",
		Base: builder.BaseInput{Ref: builder.OCILayoutPrefix + baseDir, Digest: baseDigest.String(), GPU: true,
			Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}, Python: "/usr/bin/python3",
			SitePackages: "/usr/lib/python3/site-packages"},
		Wheels: []builder.Wheel{{Name: "tiny", Version: "1.0", Filename: "tiny-1.0-py3-none-any.whl",
			Path: wp, SHA256: sha(wheel), Size: int64(len(wheel))}},
		ModelDir: model,
		AppFiles: []builder.File{
			{Path: "/opt/hfpack/worker/handler.py", Source: handler, Mode: 0o644},
			{Path: "/opt/hfpack/worker/worker.py", Source: worker, Mode: 0o755},
		},
		SidecarPath:     sidecar,
		ManifestDigest:  "sha256:" + strings.Repeat("1", 64),
		LockDigest:      "sha256:" + strings.Repeat("2", 64),
		Version:         "v0.0.0-test",
		SourceDateEpoch: 1700000000,
		LargeFile:       2048,
	}}
}

// fakeInstaller "installs" a wheel by checking its hash and copying it into
// site-packages as <name>/__init__.py, plus a dist-info RECORD.
func fakeInstaller(t *tree.Tree, w builder.WheelRef, b builder.Base) error {
	data, err := os.ReadFile(w.Source)
	if err != nil {
		return err
	}
	if got := sha(data); got != w.SHA256 {
		return fmt.Errorf("wheel %s: sha256 %s, want %s", w.Filename, got, w.SHA256)
	}
	sp := strings.TrimPrefix(b.SitePackages, "/")
	if err := t.AddBytes(sp+"/"+w.Name+"/__init__.py", 0o644, data); err != nil {
		return err
	}
	return t.AddBytes(sp+"/"+w.Name+"-"+w.Version+".dist-info/INSTALLER", 0o644, []byte("hfpack\n"))
}

// build plans and builds p into a fresh cache at cacheDir.
func build(t *testing.T, p *project, cacheDir string, opts ...builder.Option) (v1.Image, *builder.Plan, *builder.Report) {
	t.Helper()
	c, err := cache.Open(cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	plan, err := builder.NewPlan(ctx, p.inputs, builder.WithCache(c))
	if err != nil {
		t.Fatal(err)
	}
	var r builder.Report
	opts = append([]builder.Option{builder.WithCache(c), builder.WithWheelInstaller(fakeInstaller), builder.WithReport(&r)}, opts...)
	img, err := builder.Build(ctx, plan, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return img, plan, &r
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
