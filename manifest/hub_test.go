package manifest

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const hubManifest = `name = "sst2"

[model]
source = "hf://distilbert/distilbert-base-uncased-finetuned-sst-2-english"
task = "text-classification"
`

func TestHubSourceDefaults(t *testing.T) {
	m, err := Parse(project(t, hubManifest), []byte(hubManifest))
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	want := Model{Source: "hf://distilbert/distilbert-base-uncased-finetuned-sst-2-english", Revision: "main", TokenEnv: "HF_TOKEN", Task: "text-classification"}
	if diff := cmp.Diff(want, m.Model); diff != "" {
		t.Errorf("model (-want +got):\n%s", diff)
	}
	if m.ModelDir() != "" {
		t.Errorf("ModelDir() = %q for a Hub model, want \"\"", m.ModelDir())
	}
	if got := m.HubRepo(); got != "distilbert/distilbert-base-uncased-finetuned-sst-2-english" {
		t.Errorf("HubRepo() = %q", got)
	}
}

func TestHubSourceErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, key, at, msg string
	}{
		{"path and source", strings.Replace(hubManifest, "[model]\n", "[model]\npath = \"model\"\n", 1),
			"model.source", "source =", "model.path and model.source are mutually exclusive"},
		{"not hf://", strings.Replace(hubManifest, "hf://", "https://huggingface.co/", 1), "model.source", "source =", "write hf://ORG/NAME"},
		{"path in repo", strings.Replace(hubManifest, "english\"", "english/onnx\"", 1), "model.source", "source =", "model.include"},
		{"bad revision", hubManifest + "revision = \"a b\"\n", "model.revision", "revision =", "space"},
		{"bad include", hubManifest + "include = [\"*.onnx\", \"\"]\n", "model.include[1]", "include =", "empty pattern"},
		{"token in token-env", hubManifest + "token-env = \"hf_abcdefSECRET\"\n", "model.token-env", "token-env =", "never the token itself"},
		{"revision without source", "name = \"x\"\n[model]\ntask = \"fill-mask\"\nrevision = \"v1\"\n", "model.revision", "revision =", "only applies to a Hub model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := project(t, tc.src)
			_, err := Parse(path, []byte(tc.src))
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("Parse() = %v, want Errors", err)
			}
			e := es[0]
			if e.Key != tc.key || e.Line != lineOf2(tc.src, tc.at) || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("first error = %v (key %q line %d), want key %q on the line of %q saying %q", e, e.Key, e.Line, tc.key, tc.at, tc.msg)
			}
			if !strings.HasPrefix(e.Error(), path+":") {
				t.Errorf("error %q does not name the file", e)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("the error echoes what may be a token: %v", err)
			}
		})
	}
}

func lineOf2(src, needle string) int {
	i := strings.Index(src, needle)
	if i < 0 {
		return -1
	}
	return strings.Count(src[:i], "\n") + 1
}
