package templates_test

import (
	"io/fs"
	"os/exec"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/templates"
)

// checkPy parses a Python file as Python 3.8 and prints its non-stdlib imports.
const checkPy = `
import ast, sys
src = sys.stdin.read()
tree = ast.parse(src, feature_version=(3, 8))
bad = set()
for node in ast.walk(tree):
    names = []
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0:
        names = [node.module]
    for n in names:
        top = n.split(".")[0]
        if top not in sys.stdlib_module_names:
            bad.add(top)
print(" ".join(sorted(bad)))
`

func pythonCheck(t *testing.T, src []byte) string {
	t.Helper()
	cmd := exec.Command("python3", "-c", checkPy)
	cmd.Stdin = strings.NewReader(string(src))
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, lerr := exec.LookPath("python3"); lerr != nil {
			t.Skip("python3 not on PATH")
		}
		t.Fatalf("checking Python source: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestWorkerIsStdlibOnlyPython38(t *testing.T) {
	src, err := fs.ReadFile(templates.Worker, templates.WorkerScript)
	if err != nil {
		t.Fatal(err)
	}
	// transformers and torch are imported lazily by the default handler only.
	if got := pythonCheck(t, src); got != "torch transformers" {
		t.Errorf("worker imports outside the standard library: %q, want only the default handler's lazy %q", got, "torch transformers")
	}
}

func TestWorkerFSHoldsOnlyTheWorker(t *testing.T) {
	var names []string
	fs.WalkDir(templates.Worker, ".", func(p string, d fs.DirEntry, err error) error {
		if !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if len(names) != 1 || names[0] != templates.WorkerScript {
		t.Errorf("Worker files = %v, want [%s]", names, templates.WorkerScript)
	}
}
