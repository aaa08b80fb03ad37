package pylock

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHubModelRoundTrip(t *testing.T) {
	l := sample()
	l.HFPack.Model = &HubModel{Source: "hf://acme/tiny", Revision: "main", Commit: strings.Repeat("0a", 20),
		Include: []string{"onnx/", "*.onnx"}, Exclude: []string{"*.h5"}, TrustRemoteCode: true}
	b, err := Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\n[tool.hfpack.model]\nsource = \"hf://acme/tiny\"\nrevision = \"main\"\ncommit = \"" + strings.Repeat("0a", 20) + "\"\ninclude = [\"*.onnx\", \"onnx/\"]\nexclude = [\"*.h5\"]\ntrust-remote-code = true\n",
		"\n[[tool.hfpack.model-files]]\npath = \"config.json\"",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("lock does not contain %q:\n%s", want, b)
		}
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	l.HFPack.Model.Include = []string{"*.onnx", "onnx/"} // written sorted
	if d := cmp.Diff(l.HFPack.Model, got.HFPack.Model); d != "" {
		t.Errorf("model (-want +got):\n%s", d)
	}
	for _, bad := range []struct{ old, new, msg string }{
		{strings.Repeat("0a", 20), "main", "not a 40-hex commit id"},
		{`source = "hf://acme/tiny"`, `source = "acme/tiny"`, "not hf://ORG/NAME"},
		{`revision = "main"`, `revision = ""`, "missing revision"},
	} {
		_, err := Unmarshal([]byte(strings.Replace(string(b), bad.old, bad.new, 1)))
		if err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("Unmarshal with %s = %v, want %q", bad.new, err, bad.msg)
		}
	}
}
