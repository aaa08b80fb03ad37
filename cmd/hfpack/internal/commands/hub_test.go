package commands

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/hfpack/hfpack/baseimages"
	"github.com/hfpack/hfpack/hub/hubtest"
	"github.com/hfpack/hfpack/lockfile/pylock"
)

const hubToken = "hf_cmdtestSECRETtoken0123456789"

// hubProject copies the example with its model replaced by model (a
// [model] body), its base by a small local layout, and returns the
// manifest's path.
func hubProject(t *testing.T, model string) string {
	t.Helper()
	dir := t.TempDir()
	copyDir(t, filepath.Join(repoRoot(t), "examples", "sst2"), dir)
	os.Remove(filepath.Join(dir, "pylock.toml"))
	os.RemoveAll(filepath.Join(dir, "model"))
	manifest := filepath.Join(dir, "hfpack.toml")
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "path = \"model\"                  # written by `go run ./examples/sst2/gen model`", model, 1)
	s = strings.Replace(s, `base = "oci-layout:.hfpack/base"`, `base = "oci-layout:base"`, 1)
	if s == string(b) {
		t.Fatal("test bug: the example manifest changed")
	}
	if err := os.WriteFile(manifest, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	writeBase(t, filepath.Join(dir, "base"))
	return manifest
}

// writeBase writes an empty linux/amd64 base labelled with Python 3.11 and glibc 2.36.
func writeBase(t *testing.T, dir string) {
	t.Helper()
	writeLayout(t, dir, labelledBase(t))
}

// labelledBase is an empty linux/amd64 image labelled with Python 3.11
// (/usr/bin/python3) and glibc 2.36, as a user's own base would be.
func labelledBase(t *testing.T) v1.Image {
	t.Helper()
	cf, _ := empty.Image.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	cf.Config.Labels = map[string]string{baseimages.LabelPython: "3.11", baseimages.LabelGlibc: "2.36", baseimages.LabelPythonPath: "/usr/bin/python3"}
	img, err := mutate.ConfigFile(empty.Image, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// writeLayout writes img as the only image of a new OCI layout at dir.
func writeLayout(t *testing.T, dir string, img v1.Image) {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
}

func fakeSidecar(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "hfpack-sidecar")
	if err := os.WriteFile(p, []byte("\x7fELF fake sidecar\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// modelLayers returns the digests of the build's model layers.
func modelLayers(t *testing.T, stdout string) []string {
	t.Helper()
	var r BuildResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("build --json: %v\n%s", err, stdout)
	}
	var out []string
	for _, l := range r.Layers {
		if strings.HasPrefix(l.Name, "model-") {
			out = append(out, l.Name+" "+l.Digest)
		}
	}
	if len(out) == 0 {
		t.Fatalf("the build has no model layers: %+v", r.Layers)
	}
	return out
}

func TestHubModelLockBuild(t *testing.T) {
	s := hubtest.New(hubtest.Options{Token: hubToken})
	defer s.Close()
	files := hubtest.Model(96<<10, 7)
	first := s.Commit("acme/tiny-sst2", "main", files)
	s.SetPrivate("acme/tiny-sst2", true)
	t.Setenv("HF_ENDPOINT", s.URL)
	t.Setenv("HF_TOKEN", hubToken)
	t.Setenv("HFPACK_CACHE_DIR", t.TempDir())

	manifest := hubProject(t, `source = "hf://acme/tiny-sst2"`)
	cache := t.TempDir()
	var outputs []string
	runOK := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := run(t, args...)
		outputs = append(outputs, stdout, stderr)
		if code != ExitOK {
			t.Fatalf("hfpack %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
		return stdout
	}
	runOK("lock", manifest, "--cache-dir", cache)
	lockPath := filepath.Join(filepath.Dir(manifest), "pylock.toml")
	l, err := pylock.ReadFile(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	if hm := l.HFPack.Model; hm == nil || hm.Commit != first || hm.Source != "hf://acme/tiny-sst2" || hm.Revision != "main" {
		t.Fatalf("[tool.hfpack.model] = %+v, want hf://acme/tiny-sst2 main at %s", l.HFPack.Model, first)
	}
	if len(l.HFPack.ModelFiles) != 5 {
		t.Errorf("model files = %+v, want the 5 from_pretrained needs", l.HFPack.ModelFiles)
	}

	// The branch moves after locking: check and build still use the lock's commit.
	s.Commit("acme/tiny-sst2", "main", hubtest.Model(96<<10, 8))
	runOK("lock", "--check", manifest)
	runOK("check", manifest, "--cache-dir", cache)
	out := filepath.Join(t.TempDir(), "hub-image")
	sidecar := fakeSidecar(t)
	hubLayers := modelLayers(t, runOK("build", manifest, "--cache-dir", cache, "--sidecar", sidecar, "--json", "-o", "oci:"+out))

	// The same files in a local directory give byte-identical model layers.
	local := hubProject(t, `path = "model"`)
	for _, f := range l.HFPack.ModelFiles {
		p := filepath.Join(filepath.Dir(local), "model", filepath.FromSlash(f.Path))
		os.MkdirAll(filepath.Dir(p), 0o755)
		c := files[f.Path]
		b, _ := io.ReadAll(io.NewSectionReader(c, 0, c.Size()))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runOK("lock", local, "--cache-dir", cache)
	localLayers := modelLayers(t, runOK("build", local, "--cache-dir", t.TempDir(), "--sidecar", sidecar, "--json", "-o", "oci:"+t.TempDir()))
	t.Logf("model layers: hub %v, local %v", hubLayers, localLayers)
	if strings.Join(hubLayers, "\n") != strings.Join(localLayers, "\n") {
		t.Errorf("model layers differ between the Hub model and the same files in a directory:\nhub:   %v\nlocal: %v", hubLayers, localLayers)
	}

	// --upgrade-model moves the pin to the branch's new commit.
	runOK("lock", manifest, "--cache-dir", cache, "--upgrade-model")
	if l2, _ := pylock.ReadFile(lockPath); l2.HFPack.Model.Commit != s.Head("acme/tiny-sst2", "main") {
		t.Errorf("--upgrade-model pinned %s, want the branch head %s", l2.HFPack.Model.Commit, s.Head("acme/tiny-sst2", "main"))
	}

	// The token appears in no output, file, cache path or layer.
	for _, o := range outputs {
		if strings.Contains(o, hubToken) {
			t.Errorf("output shows the token:\n%s", o)
		}
	}
	for _, root := range []string{filepath.Dir(manifest), cache, out} {
		noToken(t, root)
	}
	if s.LeakedAuth() != 0 {
		t.Errorf("the token reached the file host %d times", s.LeakedAuth())
	}

	// Without the token the private model is refused, naming the fix.
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HOME", t.TempDir())
	code, _, stderr := run(t, "check", manifest, "--cache-dir", t.TempDir())
	if code != ExitFailure || !strings.Contains(stderr, "does not exist or is private") || !strings.Contains(stderr, "set HF_TOKEN") {
		t.Errorf("check without a token: exit %d\n%s", code, stderr)
	}
}

// noToken fails if the token is in any path or file under root, gzip'd
// layers included.
func noToken(t *testing.T, root string) {
	t.Helper()
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(p, hubToken) {
			t.Errorf("path %s holds the token", p)
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		if bytes.Contains(b, []byte(hubToken)) {
			t.Errorf("%s holds the token", p)
		}
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			if u, err := io.ReadAll(zr); err == nil && bytes.Contains(u, []byte(hubToken)) {
				t.Errorf("layer %s holds the token", p)
			}
		}
		return nil
	})
}
