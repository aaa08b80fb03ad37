package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestStreamingImage: a handler that defines generate() makes a generative
// image; hfpack smoke, running it with runc, checks a streamed chat answer
// (chat.completion.chunk events ending data: [DONE]) on the predict route,
// and vertex-spec says it needs a dedicated endpoint.
func TestStreamingImage(t *testing.T) {
	heavy(t)
	ix := startIndex(t)
	p := newProject(t, ix, baseLayout(t))
	p.write(t, "handler.py", p.read(t, "handler.py")+`

def generate(state, instance, parameters):
    text = instance["messages"][-1]["content"] if "messages" in instance else instance["prompt"]
    for word in ("You", " said:", " " + text):
        yield word
`)
	mustHfpack(t, p.Dir, nil, "lock", p.Manifest)
	layoutDir := filepath.Join(t.TempDir(), "out")
	mustHfpack(t, p.Dir, nil, "build", p.Manifest, "--output", "oci:"+layoutDir+":stream")
	r := mustHfpack(t, p.Dir, nil, "smoke", "oci:"+layoutDir+":stream")
	for _, want := range []string{"ok  predict", "ok  stream", "chat.completion.chunk events", "data: [DONE]"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("hfpack smoke did not print %q:\n%s", want, r.stderr)
		}
	}
	spec := mustHfpack(t, p.Dir, nil, "vertex-spec", p.Manifest, "--gcloud", "--image", "europe-west4-docker.pkg.dev/p/r/sst2@sha256:"+strings.Repeat("0", 64))
	if !strings.Contains(spec.stdout, `"dedicatedEndpointEnabled": true`) || !strings.Contains(spec.stdout, ":streamRawPredict") {
		t.Errorf("vertex-spec --gcloud for a generative handler:\n%s", spec.stdout)
	}
}
