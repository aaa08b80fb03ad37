package manifest

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("name = \"x\"\n[model]\ntask = \"fill-mask\"\n"))
	f.Add([]byte("[[python.index]]\n[[python.index]]\nname = 1\n"))
	f.Add([]byte("a = \"\"\"\n[x]\n\"\"\"\nb = [ [ [ { c = '''\n''' } ] ] ]\n"))
	f.Add([]byte("\"quoted key\".'lit' = 1\n[ 'a' . \"b\" ]\n"))
	f.Add([]byte("requirements = [\"torch ; python_version < '3'\"]\nserving = { max-batch-delay = \"\u00b5s\" }\n"))
	f.Add([]byte("\x00\xff[\n"))
	f.Add([]byte("name = \"x\"\n[model]\nsource = \"hf://a/b\"\nrevision = \"refs/pr/1\"\ninclude = [\"[!\", \"*/\"]\nexclude = [\"\"]\ntoken-env = \"hf_x\"\ntask = \"fill-mask\"\n"))
	f.Add([]byte("name = \"x\"\n[model]\nsource = \"hf://../..\"\npath = \"model\"\n"))
	f.Add([]byte("name = \"x\"\n[model]\nrevision = \"main\"\ntask = \"fill-mask\"\n"))
	dir := f.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "model"), 0o755); err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(dir, "hfpack.toml")
	f.Fuzz(func(t *testing.T, src []byte) {
		m, err := Parse(path, src)
		if (m == nil) == (err == nil) {
			t.Fatalf("Parse returned manifest %v and error %v", m, err)
		}
		scanPositions(string(src)) // must not panic or loop on any input
	})
}
