package commands

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckBrokenManifests feeds hfpack check broken manifests through the
// CLI, as a user would, and asserts the exit code and the file:line: key
// each error names. manifest's own tests cover the messages in depth.
func TestCheckBrokenManifests(t *testing.T) {
	const head = "name = \"sst2\"\n[model]\ntask = \"text-classification\"\n"
	tests := []struct {
		name, src string
		line      int
		key       string
	}{
		{"typo top level", "nmae = \"x\"\n" + head, 1, "nmae"},
		{"typo in table", "name = \"a\"\n[model]\ntaks = \"fill-mask\"\n", 3, "model.taks"},
		{"unknown table", head + "[servng]\nmax-batch-size = 2\n", 4, "servng"},
		{"missing name", "[model]\ntask = \"fill-mask\"\n", 0, "name"},
		{"bad name", "name = \"Bad_Name\"\n[model]\ntask = \"fill-mask\"\n", 1, "name"},
		{"name wrong type", "name = 7\n", 1, "name"},
		{"model path missing", head + "path = \"nowhere\"\n", 4, "model.path"},
		{"unknown task", "name = \"a\"\n[model]\ntask = \"txt-classification\"\n", 3, "model.task"},
		{"no task no handler", "name = \"a\"\n[model]\npath = \"model\"\n", 2, "model.task"},
		{"handler outside", head + "handler = \"../h.py\"\n", 4, "model.handler"},
		{"handler missing", head + "handler = \"missing.py\"\n", 4, "model.handler"},
		{"python version", head + "[python]\nversion = \"2.7\"\n", 5, "python.version"},
		{"empty requirement", head + "[python]\nrequirements = [\n  \"torch\",\n  \"\",\n]\n", 7, "python.requirements[1]"},
		{"bad requirement", head + "[python]\nrequirements = [\"torch>>2\"]\n", 5, "python.requirements[0]"},
		{"url requirement", head + "[python]\nrequirements = [\"torch @ https://x/t.whl\"]\n", 5, "python.requirements[0]"},
		{"duplicate requirement", head + "[python]\nrequirements = [\"torch\", \"Torch>=2\"]\n", 5, "python.requirements[1]"},
		{"index url", head + "[python]\nindex-url = \"ftp://x/simple\"\n", 5, "python.index-url"},
		{"explicit index no packages", head + "[[python.index]]\nname = \"cu\"\nurl = \"https://x/cu\"\npackages = []\n", 7, "python.index[0].packages"},
		{"unknown accelerator", head + "[accelerator]\ntype = \"NVIDIA_L5\"\n", 5, "accelerator.type"},
		{"gpu count", head + "[accelerator]\ntype = \"NVIDIA_L4\"\ncount = 3\n", 6, "accelerator.count"},
		{"bad driver", head + "[accelerator]\ntype = \"NVIDIA_L4\"\nmin-driver = \"new\"\n", 6, "accelerator.min-driver"},
		{"batch size", head + "[serving]\nmax-batch-size = 0\n", 5, "serving.max-batch-size"},
		{"bad delay", head + "[serving]\nmax-batch-delay = \"5 ms\"\n", 5, "serving.max-batch-delay"},
		{"timeout too long", head + "[serving]\nrequest-timeout = \"3h\"\n", 5, "serving.request-timeout"},
		{"request bytes", head + "[serving]\nmax-request-bytes = -1\n", 5, "serving.max-request-bytes"},
		{"unpinned base", head + "[image]\nbase = \"ubuntu:22.04\"\n", 5, "image.base"},
		{"duplicate key", head + "task = \"fill-mask\"\n", 4, "model.task"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "model"), 0o755); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "h.py"), nil, 0o644)
			path := filepath.Join(dir, "hfpack.toml")
			if err := os.WriteFile(path, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := run(t, "check", path)
			if code != ExitFailure {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, ExitFailure, stderr)
			}
			want := fmt.Sprintf("%s:%d: %s: ", path, tc.line, tc.key)
			if tc.line == 0 {
				want = fmt.Sprintf("%s: %s: ", path, tc.key)
			}
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr does not name %q:\n%s", want, stderr)
			}
		})
	}
}
