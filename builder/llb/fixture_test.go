package llb_test

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/lockfile/indextest"
)

// wheelSpecs are the fixture's wheels: one with a console script and a
// subpackage, one plain.
var wheelSpecs = []indextest.WheelSpec{
	{Name: "alpha", Version: "1.0", ConsoleScripts: map[string]string{"alpha": "alpha.cli:main"},
		Files: []indextest.WheelFile{{Path: "alpha/cli.py", Data: []byte("def main():\n    print('alpha')\n")}}},
	{Name: "beta", Version: "2.0"},
}

// fixture is a small project: wheels, a model (one large file, small
// files, a symlink), a handler, a worker and a sidecar.
type fixture struct {
	inputs builder.Inputs
	urls   map[string]string // wheel sha256 → URL
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

func writeFile(t testing.TB, dir, rel string, data []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// newFixture lays the project out under a fresh directory. With srv, the
// wheels are served there and urls point at it; else at files.example.
func newFixture(t testing.TB, base builder.BaseInput, srv *indextest.Server) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{urls: map[string]string{}}
	for _, spec := range wheelSpecs {
		data, err := indextest.BuildWheel(spec)
		if err != nil {
			t.Fatal(err)
		}
		fn := spec.Filename()
		p := writeFile(t, dir, "wheels/"+fn, data, 0o644)
		url := "https://files.example/wheels/" + fn
		if srv != nil {
			srv.AddFile(spec.Name, fn, data)
			url = srv.FileURL(fn)
		}
		f.urls[sha(data)] = url
		f.inputs.Wheels = append(f.inputs.Wheels, builder.Wheel{Name: spec.Name, Version: spec.Version,
			Filename: fn, Path: p, SHA256: sha(data), Size: int64(len(data))})
	}
	model := filepath.Join(dir, "model")
	writeFile(t, model, "config.json", []byte(`{"hidden":8}`), 0o600)
	writeFile(t, model, "model.safetensors", pattern(6000, 1), 0o644)
	writeFile(t, model, "sub/tokenizer.json", []byte(`{"v":1}`), 0o644)
	if err := os.Symlink("../config.json", filepath.Join(model, "sub", "config-link.json")); err != nil {
		t.Fatal(err)
	}
	handler := writeFile(t, dir, "app/handler.py", []byte("def predict(x):\n    return x\n"), 0o644)
	worker := writeFile(t, dir, "app/worker.py", []byte("import json\n"), 0o755)
	sidecar := writeFile(t, dir, "bin/hfpack-sidecar", pattern(3000, 9), 0o755)
	f.inputs.Name = "tiny"
	f.inputs.Base = base
	f.inputs.ModelDir = model
	f.inputs.AppFiles = []builder.File{
		{Path: "/opt/hfpack/worker/handler.py", Source: handler, Mode: 0o644},
		{Path: "/opt/hfpack/worker/worker.py", Source: worker, Mode: 0o755},
	}
	f.inputs.SidecarPath = sidecar
	f.inputs.ManifestDigest = "sha256:" + strings.Repeat("1", 64)
	f.inputs.LockDigest = "sha256:" + strings.Repeat("2", 64)
	f.inputs.Version = "v0.0.0-test"
	f.inputs.SourceDateEpoch = 1700000000
	f.inputs.LargeFile = 4096
	return f
}

func (f *fixture) plan(t testing.TB) *builder.Plan {
	t.Helper()
	p, err := builder.NewPlan(context.Background(), f.inputs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fixture) url(w builder.WheelRef) string { return f.urls[w.SHA256] }

// fakeBase is a base that needs no registry (for lowering only).
func fakeBase() builder.BaseInput {
	return builder.BaseInput{Ref: "registry.example/hfpack/base:bookworm", Digest: "sha256:" + strings.Repeat("a", 64),
		Python: "/usr/bin/python3", SitePackages: "/usr/lib/python3/dist-packages",
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if installerPath != "" {
		os.RemoveAll(filepath.Dir(installerPath))
	}
	os.Exit(code)
}

var (
	installerOnce sync.Once
	installerPath string
	installerErr  error
)

// installer builds the static installer binary once per test process.
func installer(t testing.TB) string {
	t.Helper()
	installerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hfpack-llb-installer-")
		if err != nil {
			installerErr = err
			return
		}
		installerPath = filepath.Join(dir, "hfpack-install")
		cmd := exec.Command("go", "build", "-trimpath", "-o", installerPath,
			"github.com/hfpack/hfpack/builder/llb/internal/cmd/hfpack-install")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			installerErr = errors.New(string(out))
		}
	})
	if installerErr != nil {
		t.Fatalf("building the installer: %v", installerErr)
	}
	return installerPath
}

// entry is one object of an unpacked image: what a user would see.
type entry struct {
	Type     byte
	Mode     int64
	Size     int64
	SHA256   string
	Linkname string
}

// flatten unpacks img's layers in order (whiteouts applied) into a map of
// path → entry.
func flatten(t testing.TB, img v1.Image) map[string]entry {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	fs := map[string]entry{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			name := path.Clean("/" + h.Name)
			dir, base := path.Split(name)
			if base == ".wh..wh..opq" {
				for p := range fs {
					if strings.HasPrefix(p, dir) {
						delete(fs, p)
					}
				}
				continue
			}
			if w, ok := strings.CutPrefix(base, ".wh."); ok {
				gone := path.Join(dir, w)
				for p := range fs {
					if p == gone || strings.HasPrefix(p, gone+"/") {
						delete(fs, p)
					}
				}
				continue
			}
			e := entry{Type: h.Typeflag, Mode: h.Mode & 0o7777}
			switch h.Typeflag {
			case tar.TypeReg:
				hs := sha256.New()
				n, err := io.Copy(hs, tr)
				if err != nil {
					t.Fatal(err)
				}
				e.Size, e.SHA256 = n, hex.EncodeToString(hs.Sum(nil))
			case tar.TypeSymlink:
				e.Linkname = h.Linkname
			case tar.TypeLink:
				e = fs[path.Clean("/"+h.Linkname)]
			}
			fs[name] = e
		}
		rc.Close()
	}
	return fs
}
