package commands

import (
	"net"
	"net/http"

	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/examples/sst2/demoindex"
)

// repoRoot finds the repository root from this test file.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
}

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Execute(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	example := filepath.Join(repoRoot(t), "examples", "sst2", "hfpack.toml")
	bad := filepath.Join(t.TempDir(), "hfpack.toml")
	if err := os.WriteFile(bad, []byte("name = \"Bad\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		err  string // substring of stderr
	}{
		{[]string{"check", example}, ExitOK, ""},
		{[]string{"check", bad}, ExitFailure, "hfpack.toml:1: name:"},
		{[]string{"check", filepath.Join(t.TempDir(), "missing.toml")}, ExitFailure, "reading manifest"},
		{[]string{"check", "--no-such-flag"}, ExitUsage, "unknown flag"},
		{[]string{"check", "a", "b"}, ExitUsage, "accepts at most 1 arg"},
		{[]string{"frobnicate"}, ExitUsage, "unknown command"},
		{[]string{"version", "extra"}, ExitUsage, "unknown command"},
		{[]string{"vertex-spec", example}, ExitUsage, "--image is required"},
		{[]string{"vertex-spec", example, "--image", "us-docker.pkg.dev/p/r/sst2:latest"}, ExitUsage, "not pinned by digest"},
		{[]string{"version"}, ExitOK, ""},
		{[]string{"--help"}, ExitOK, ""},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := run(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.err) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.err)
			}
		})
	}
}

func TestHelpOnEveryCommand(t *testing.T) {
	for _, c := range New(nil, nil).Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		code, stdout, _ := run(t, c.Name(), "--help")
		if code != ExitOK || !strings.Contains(stdout, "Usage:") {
			t.Errorf("%s --help: exit %d, output %q", c.Name(), code, stdout)
		}
	}
}

// lock, check and build say that the model can come from the Hub.
func TestHelpNamesHubModels(t *testing.T) {
	for _, name := range []string{"lock", "check", "build"} {
		_, stdout, _ := run(t, name, "--help")
		if !strings.Contains(strings.Join(strings.Fields(stdout), " "), `model.source = "hf://ORG/NAME"`) {
			t.Errorf("%s --help does not mention a Hub model (model.source = \"hf://ORG/NAME\"):\n%s", name, stdout)
		}
	}
}

func TestVertexSpec(t *testing.T) {
	example := filepath.Join(repoRoot(t), "examples", "sst2", "hfpack.toml")
	img := "europe-west4-docker.pkg.dev/proj/repo/sst2@sha256:" + strings.Repeat("ab", 32)
	code, stdout, stderr := run(t, "vertex-spec", example, "--image", img)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var spec map[string]any
	if err := json.Unmarshal([]byte(stdout), &spec); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	if spec["imageUri"] != img || spec["predictRoute"] != PredictRoute || spec["healthRoute"] != HealthRoute {
		t.Errorf("spec = %v", spec)
	}
	ports, _ := spec["ports"].([]any)
	if len(ports) != 1 || ports[0].(map[string]any)["containerPort"] != float64(8080) {
		t.Errorf("ports = %v, want [{containerPort: 8080}]", spec["ports"])
	}
	if strings.Contains(stdout, "AIP_") {
		t.Errorf("containerSpec sets AIP_* variables: %s", stdout)
	}
	// Every key must be a ModelContainerSpec field of the Vertex REST API.
	fields := map[string]bool{"imageUri": true, "command": true, "args": true, "env": true, "ports": true,
		"predictRoute": true, "healthRoute": true, "grpcPorts": true, "deploymentTimeout": true,
		"sharedMemorySizeMb": true, "startupProbe": true, "healthProbe": true}
	for k := range spec {
		if !fields[k] {
			t.Errorf("containerSpec key %q is not a ModelContainerSpec field", k)
		}
	}
	code, stdout, _ = run(t, "vertex-spec", example, "--image", img, "--gcloud")
	if code != ExitOK || !strings.Contains(stdout, "--region=europe-west4") || !strings.Contains(stdout, "--container-image-uri="+img) {
		t.Errorf("--gcloud output:\n%s", stdout)
	}
}

func TestCheckJSON(t *testing.T) {
	example := filepath.Join(repoRoot(t), "examples", "sst2", "hfpack.toml")
	code, stdout, stderr := run(t, "check", "--json", example)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r CheckReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("check --json output is not a report: %v\n%s", err, stdout)
	}
	if r.Name != "sst2" || len(r.Checks) == 0 {
		t.Errorf("report = %+v", r)
	}
}

func TestBasesCatalogJSON(t *testing.T) {
	code, stdout, stderr := run(t, "bases", "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var cat struct {
		Accelerators []struct {
			Name string `json:"name"`
		} `json:"accelerators"`
		Images []struct {
			Ref    string `json:"ref"`
			Digest string `json:"digest"`
		} `json:"images"`
	}
	if err := json.Unmarshal([]byte(stdout), &cat); err != nil {
		t.Fatalf("bases --json is not JSON: %v", err)
	}
	if len(cat.Accelerators) < 10 || len(cat.Images) == 0 {
		t.Fatalf("catalog has %d accelerators and %d images", len(cat.Accelerators), len(cat.Images))
	}
	for _, im := range cat.Images {
		if !strings.HasPrefix(im.Digest, "sha256:") {
			t.Errorf("image %s is not pinned by digest", im.Ref)
		}
	}
}

func TestBasesNeedsLock(t *testing.T) {
	example := filepath.Join(repoRoot(t), "examples", "sst2", "hfpack.toml")
	dir := t.TempDir()
	copyDir(t, filepath.Dir(example), dir)
	os.Remove(filepath.Join(dir, "pylock.toml"))
	code, _, stderr := run(t, "bases", filepath.Join(dir, "hfpack.toml"))
	if code != ExitFailure || !strings.Contains(stderr, "run hfpack lock") {
		t.Errorf("bases without a lock: exit %d, stderr %q", code, stderr)
	}
}

// copyDir copies a small directory tree.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			if d.Name() == ".hfpack" || d.Name() == "out" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMain serves the example's package index where its manifest expects
// it, as the demo does, so check and build can read the locked wheel.
func TestMain(m *testing.M) {
	os.Exit(serveExampleIndex(m))
}

func serveExampleIndex(m *testing.M) int {
	ix, err := demoindex.New()
	if err != nil {
		panic(err)
	}
	l, err := net.Listen("tcp", demoindex.Addr)
	if err != nil {
		// Someone (make demo) already serves it: use theirs.
		return m.Run()
	}
	srv := &http.Server{Handler: ix}
	go srv.Serve(l)
	defer srv.Close()
	return m.Run()
}

func TestModelChangeNeedsRelock(t *testing.T) {
	example := filepath.Join(repoRoot(t), "examples", "sst2")
	dir := t.TempDir()
	copyDir(t, example, dir)
	manifest := filepath.Join(dir, "hfpack.toml")
	cache := t.TempDir()
	if code, _, stderr := run(t, "check", "--cache-dir", cache, manifest); code != ExitOK {
		t.Fatalf("check of an unchanged copy: exit %d: %s", code, stderr)
	}
	// check hashed the model into the build's file-hash records, so the
	// build that follows reads the weights once more, not twice.
	records, _ := filepath.Glob(filepath.Join(cache, "build", "files", "*.json"))
	if len(records) < 5 {
		t.Errorf("check left %d file-hash records in the build cache, want one per model file (5)", len(records))
	}
	if err := os.WriteFile(filepath.Join(dir, "model", "vocab.txt"), []byte("[PAD]\n[UNK]\nchanged\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "check", "--cache-dir", cache, manifest)
	if code != ExitFailure || !strings.Contains(stderr, "vocab.txt changed") || !strings.Contains(stderr, "run hfpack lock") {
		t.Errorf("check after a model change: exit %d, stderr %q", code, stderr)
	}
}

func TestCheckOffline(t *testing.T) {
	example := filepath.Join(repoRoot(t), "examples", "sst2")
	dir := t.TempDir()
	copyDir(t, example, dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	// The wheel's host is down and nothing is cached: as on a fresh
	// machine with the demo's index not running.
	lock := filepath.Join(dir, "pylock.toml")
	b, err := os.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.ReplaceAll(string(b), `url = "http://127.0.0.1:8765/`, `url = "http://`+closed+`/`))
	if err := os.WriteFile(lock, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "check", "--cache-dir", t.TempDir(), filepath.Join(dir, "hfpack.toml"))
	if code != ExitOK {
		t.Fatalf("check offline: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "imports      handler.py: not checked") || !strings.Contains(stdout, "warning: imports of handler.py not checked") {
		t.Errorf("check offline output:\n%s", stdout)
	}
	// Nor are the wheels' files checked against the image's: check says so.
	if !strings.Contains(stdout, "warning: wheel files not checked against the image's files: the locked wheels are not cached and the index is unreachable") {
		t.Errorf("check offline does not say the wheel files were not checked:\n%s", stdout)
	}
}

// When the wheels are at hand but the registry base is not, check passes
// on what it could check and says plainly that the wheels' files were not
// checked against the base; build, which needs the base, refuses.
func TestCheckOfflineBase(t *testing.T) {
	t.Setenv("HFPACK_CACHE_DIR", t.TempDir())
	m := refusalProject(t, "cpu", nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	t.Setenv("HFPACK_BASE_MIRROR", closed+"/dockerhub") // a registry that is down
	code, stdout, stderr := run(t, "check", m)
	if code != ExitOK {
		t.Fatalf("check with the base unreachable: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "warning: wheel files not checked against the image's files: the base image cannot be read: ") || !strings.Contains(stdout, closed) {
		t.Errorf("check does not say the wheel files were not checked against the base:\n%s", stdout)
	}
	if !strings.Contains(stdout, "ok  wheels       not checked") {
		t.Errorf("check output:\n%s", stdout)
	}
	out := filepath.Join(t.TempDir(), "out")
	code, _, stderr = run(t, "build", m, "--output", "oci:"+out, "--sidecar", fakeSidecar(t))
	if code != ExitFailure || !strings.Contains(stderr, closed) {
		t.Errorf("build with the base unreachable: exit %d, want 1 naming %s:\n%s", code, closed, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("build wrote %s before refusing", out)
	}
}
