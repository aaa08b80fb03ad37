package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hfpack/hfpack/e2e/harness"
	"github.com/hfpack/hfpack/hub/hubtest"
)

const hubToken = "hf_e2eSECRETtoken0123456789abcdef"

// exampleModel is the example's model directory as Hub files.
func exampleModel(t *testing.T) map[string]hubtest.Content {
	t.Helper()
	dir := filepath.Join(repoRoot, "examples", "sst2", "model")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]hubtest.Content{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = hubtest.Bytes(b)
	}
	return out
}

// hubProject is newProject with model.path replaced by model.source.
func hubProject(t *testing.T, p *project, source string) {
	t.Helper()
	p.edit(t, "path", `source = "`+source+`"`)
	if err := os.RemoveAll(filepath.Join(p.Dir, "model")); err != nil {
		t.Fatal(err)
	}
}

// modelLayerDigests reads the model layers from `hfpack --json build`.
func modelLayerDigests(t *testing.T, r result) []string {
	t.Helper()
	var out struct {
		Layers []struct{ Name, Digest string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("build --json: %v\n%s", err, r.stdout)
	}
	var ds []string
	for _, l := range out.Layers {
		if strings.HasPrefix(l.Name, "model-") {
			ds = append(ds, l.Name+" "+l.Digest)
		}
	}
	if len(ds) == 0 {
		t.Fatalf("no model layers in %s", r.stdout)
	}
	return ds
}

// TestHubModel is the user's path with a private model on a (stand-in) Hub: lock pins the
// commit and hashes, a branch that moves is not followed, the image serves the model, its model
// layers equal those of a build from a local directory holding the same files, and the token
// appears in no output, file or layer.
func TestHubModel(t *testing.T) {
	heavy(t)
	s := hubtest.New(hubtest.Options{Token: hubToken})
	t.Cleanup(s.Close)
	files := exampleModel(t)
	files["pytorch_model.bin"] = hubtest.Pattern(4096, 1) // the default selection leaves it out
	first := s.Commit("acme/sst2", "main", files)
	s.SetPrivate("acme/sst2", true)
	env := []string{"HF_ENDPOINT=" + s.URL, "HF_TOKEN=" + hubToken}

	reg := harness.StartRegistry(t)
	ix := startIndex(t)
	base := baseLayout(t)
	p := newProject(t, ix, base)
	hubProject(t, p, "hf://acme/sst2")

	var outs []result
	outs = append(outs, mustHfpack(t, p.Dir, env, "lock", p.Manifest))
	lock := p.read(t, "pylock.toml")
	for _, want := range []string{"[tool.hfpack.model]", `source = "hf://acme/sst2"`, `commit = "` + first + `"`, `path = "model.safetensors"`} {
		if !strings.Contains(lock, want) {
			t.Errorf("the lock does not record %s:\n%s", want, lock)
		}
	}
	if strings.Contains(lock, "pytorch_model.bin") {
		t.Error("the lock pins pytorch_model.bin although safetensors exist")
	}

	// The branch moves after locking; check and build keep to the locked commit.
	s.Commit("acme/sst2", "main", map[string]hubtest.Content{"config.json": hubtest.Bytes([]byte(`{"model_type": "moved"}`))})
	outs = append(outs, mustHfpack(t, p.Dir, env, "lock", "--check", p.Manifest))
	outs = append(outs, mustHfpack(t, p.Dir, env, "check", p.Manifest))
	digestFile := filepath.Join(p.Dir, "image.digest")
	r := mustHfpack(t, p.Dir, env, "--json", "build", p.Manifest, "--push", reg.Ref("sst2-hub", ":e2e"), "--digest-file", digestFile)
	outs = append(outs, r)
	hubLayers := modelLayerDigests(t, r)

	// The same files in a local directory give the same model layers.
	local := newProject(t, ix, base)
	mustHfpack(t, local.Dir, nil, "lock", local.Manifest)
	lr := mustHfpack(t, local.Dir, nil, "--json", "build", local.Manifest, "--output", "oci:"+filepath.Join(t.TempDir(), "local"))
	if got := modelLayerDigests(t, lr); strings.Join(got, ",") != strings.Join(hubLayers, ",") {
		t.Errorf("model layers differ:\nfrom the Hub:        %v\nfrom a local directory: %v", hubLayers, got)
	}

	ref := readDigestFile(t, digestFile, reg.Addr+"/sst2-hub@")
	layoutDir, tag := harness.CopyToLayout(t, ref)
	serveAndProbe(t, harness.Unpack(t, layoutDir, tag))

	for _, o := range outs {
		if strings.Contains(o.stdout+o.stderr, hubToken) {
			t.Errorf("hfpack %s printed the token", strings.Join(o.args, " "))
		}
	}
	for _, root := range []string{p.Dir, testCache(t), layoutDir} {
		tokenFree(t, root)
	}
	if n := s.LeakedAuth(); n != 0 {
		t.Errorf("the token was sent to the file host %d times", n)
	}

	// Without a token the private model is refused with the fix.
	noTok := hfpack(t, p.Dir, []string{"HF_ENDPOINT=" + s.URL, "HF_TOKEN=", "HF_HOME=" + t.TempDir()}, "check", p.Manifest, "--cache-dir", t.TempDir())
	wantRefused(t, noTok, "acme/sst2 does not exist or is private", "set HF_TOKEN")
}

// tokenFree fails if the token is in any path or file under root, gzip'd layers included.
func tokenFree(t *testing.T, root string) {
	t.Helper()
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if strings.Contains(p, hubToken) {
			t.Errorf("path %s holds the token", p)
		}
		if !d.Type().IsRegular() {
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

// TestHubDownloadResumesAfterKill kills `hfpack check` with SIGKILL in the middle of a model
// file and checks that the next run fetches only what was missing.
func TestHubDownloadResumesAfterKill(t *testing.T) {
	heavy(t)
	s := hubtest.New(hubtest.Options{BytesPerSecond: 8 << 20})
	t.Cleanup(s.Close)
	files := hubtest.Model(64<<20, 11)
	s.Commit("acme/big", "main", files)
	env := []string{"HF_ENDPOINT=" + s.URL}
	ix := startIndex(t)
	p := newProject(t, ix, baseLayout(t))
	hubProject(t, p, "hf://acme/big")
	mustHfpack(t, p.Dir, env, "lock", p.Manifest)
	weights := s.SHA256("acme/big", "main", "model.safetensors")
	size := files["model.safetensors"].Size()

	cache := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir(t), "hfpack"), "check", p.Manifest, "--cache-dir", cache)
	cmd.Dir = p.Dir
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(cache, "hub", "blobs", "sha256", weights+".state")
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st struct{ Done []int64 }
		var have int64
		if b, err := os.ReadFile(state); err == nil && json.Unmarshal(b, &st) == nil {
			for _, n := range st.Done {
				have += n
			}
		}
		if have >= 16<<20 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("hfpack check recorded %d bytes of the weights in 60s", have)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	before := s.FileBytes()
	mustHfpack(t, p.Dir, env, "check", p.Manifest, "--cache-dir", cache)
	served := s.FileBytes() - before
	if served > size-(12<<20) {
		t.Errorf("after the kill, check downloaded %d of the %d-byte weights again; 16 MiB were already there", served, size)
	}
	t.Logf("resumed: %d of %d bytes fetched after SIGKILL", served, size)
}
