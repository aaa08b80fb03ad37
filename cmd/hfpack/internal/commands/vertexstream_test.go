package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// For a generative task, vertex-spec --gcloud creates a dedicated endpoint
// with the stream timeout as its inferenceTimeout before deploying, and
// shows a streamRawPredict call; other tasks get neither.
func TestVertexSpecGenerative(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, filepath.Join(repoRoot(t), "examples", "sst2", "model"), filepath.Join(dir, "model"))
	m := filepath.Join(dir, "hfpack.toml")
	os.WriteFile(m, []byte("name = \"chat\"\n[model]\ntask = \"text-generation\"\n[serving]\nstream-timeout = \"15m\"\n"), 0o644)
	img := "us-central1-docker.pkg.dev/p/r/chat@sha256:" + strings.Repeat("ab", 32)
	code, stdout, stderr := run(t, "vertex-spec", m, "--image", img, "--gcloud")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	create := strings.Index(stdout, `"dedicatedEndpointEnabled": true, "clientConnectionConfig": {"inferenceTimeout": "900s"}`)
	deploy := strings.Index(stdout, "gcloud ai endpoints deploy-model")
	try := strings.Index(stdout, "/locations/us-central1/endpoints/ENDPOINT_ID:streamRawPredict")
	if create < 0 || deploy < 0 || try < 0 || !(create < deploy && deploy < try) {
		t.Errorf("--gcloud for text-generation: want the dedicated endpoint, then the deploy, then streamRawPredict:\n%s", stdout)
	}
	code, _, stderr = run(t, "vertex-spec", m, "--image", img)
	if code != ExitOK || !strings.Contains(stderr, "dedicated endpoints") {
		t.Errorf("containerSpec for text-generation: exit %d, stderr lacks the dedicated-endpoint note:\n%s", code, stderr)
	}
	// A handler defining generate() streams too; without it, nothing to say.
	os.WriteFile(filepath.Join(dir, "handler.py"), []byte("def load(d):\n    return None\n\ndef predict(s, i, p):\n    return i\n"), 0o644)
	editFile(t, m, "task = \"text-generation\"\n", "task = \"text-classification\"\nhandler = \"handler.py\"\n")
	if _, stdout, _ = run(t, "vertex-spec", m, "--image", img, "--gcloud"); strings.Contains(stdout, "streamRawPredict") {
		t.Errorf("--gcloud for a predict-only handler mentions streaming:\n%s", stdout)
	}
	os.WriteFile(filepath.Join(dir, "handler.py"), []byte("def load(d):\n    return None\n\ndef predict(s, i, p):\n    return i\n\ndef generate(s, i, p):\n    yield 'x'\n"), 0o644)
	if _, stdout, _ = run(t, "vertex-spec", m, "--image", img, "--gcloud"); !strings.Contains(stdout, "streamRawPredict") {
		t.Errorf("--gcloud for a handler with generate() lacks streamRawPredict:\n%s", stdout)
	}
}
