package imports

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScan(t *testing.T) {
	src := `"""Doc string that says import fake_in_docstring."""
import os, sys as system
import os.path
from collections import (
    OrderedDict,
    defaultdict,
)
from . import helpers
from .models.bert import Model
from .. import up
import json; import re
x = "import fake_in_string"  # import fake_in_comment
s = f"{'import fake_in_fstring'}"
b = rb'from fake import raw'
long = \
    1
def predict(state):
    import numpy as np
    mod = importlib.import_module("transformers.pipelines")
    other = __import__('yaml')
    return np
try:
    import ujson
except ImportError:
    ujson = None
try:
    import orjson
finally:
    pass
if True: import csv
class A:
    try: from sklearn import svm
    except (ValueError, ModuleNotFoundError): pass
`
	got, err := Scan([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Import{
		{Module: "os", Line: 2}, {Module: "sys", Line: 2}, {Module: "os.path", Line: 3},
		{Module: "collections", Line: 4, Names: []string{"OrderedDict", "defaultdict"}},
		{Module: "helpers", Level: 1, Line: 8},
		{Module: "models.bert", Level: 1, Line: 9, Names: []string{"Model"}},
		{Module: "up", Level: 2, Line: 10},
		{Module: "json", Line: 11}, {Module: "re", Line: 11},
		{Module: "numpy", Line: 18},
		{Module: "transformers.pipelines", Line: 19, Dynamic: true},
		{Module: "yaml", Line: 20, Dynamic: true},
		{Module: "ujson", Line: 23, Optional: true},
		{Module: "orjson", Line: 27},
		{Module: "csv", Line: 30},
		{Module: "sklearn", Line: 32, Optional: true, Names: []string{"svm"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Scan() (-want +got):\n%s", diff)
	}
}

func TestScanErrors(t *testing.T) {
	for _, src := range []string{"x = 'unterminated\n", `y = """never closed`} {
		if _, err := Scan([]byte(src)); err == nil {
			t.Errorf("Scan(%q) = nil error, want unterminated string", src)
		}
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestAnalyze(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"handler.py": `import json
from demo_text import encode
import utils
from pkg import sub
import missing_pkg
import sklearn.svm
def predict():
    import PIL.Image
try:
    import optional_speedup
except ImportError:
    pass
`,
		"utils.py":        "from .helpers import x\nimport tomllib\n",
		"helpers.py":      "X = 1\n",
		"pkg/__init__.py": "",
		"pkg/sub.py":      "import os\n",
		"unused.py":       "import nothing\n",
	})
	env := Env{Python: "3.11", Provided: map[string]string{"demo_text": "hfpack-demo-text"}}
	r, err := Analyze(filepath.Join(dir, "handler.py"), env)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"handler.py", "helpers.py", "pkg/__init__.py", "pkg/sub.py", "utils.py"}, r.Files); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
	var missing []string
	for _, m := range r.Missing {
		missing = append(missing, m.String())
	}
	wantMissing := []string{
		`handler.py:5: import "missing_pkg" is not provided by the lock: add "missing-pkg" to python.requirements in hfpack.toml and run hfpack lock`,
		`handler.py:6: import "sklearn.svm" is not provided by the lock: add "scikit-learn" to python.requirements in hfpack.toml and run hfpack lock`,
		`handler.py:8: import "PIL.Image" is not provided by the lock: add "Pillow" to python.requirements in hfpack.toml and run hfpack lock`,
	}
	if diff := cmp.Diff(wantMissing, missing); diff != "" {
		t.Errorf("Missing (-want +got):\n%s", diff)
	}
	if len(r.Optional) != 1 || r.Optional[0].Module != "optional_speedup" {
		t.Errorf("Optional = %+v, want optional_speedup", r.Optional)
	}
	var me *MissingError
	if !errors.As(r.Err(), &me) || len(me.Lines) != 3 {
		t.Errorf("Err() = %v", r.Err())
	}
	kinds := map[string]string{}
	for _, x := range r.Resolved {
		kinds[x.Module] = x.Kind + " " + x.Dist
	}
	for mod, want := range map[string]string{"json": "stdlib ", "demo_text": "locked hfpack-demo-text", "utils": "local ", "helpers": "local ", "pkg": "local ", "tomllib": "stdlib "} {
		if kinds[mod] != want {
			t.Errorf("%s resolved as %q, want %q", mod, kinds[mod], want)
		}
	}
}

func TestStdlibByVersion(t *testing.T) {
	if !Stdlib("3.11")["distutils"] || Stdlib("3.12")["distutils"] {
		t.Errorf("distutils: want in 3.11, not in 3.12")
	}
	if Stdlib("3.10")["tomllib"] || !Stdlib("3.11")["tomllib"] {
		t.Errorf("tomllib: want in 3.11, not in 3.10")
	}
	if Stdlib("3.13")["cgi"] {
		t.Errorf("cgi was removed in 3.13")
	}
}

func TestModulesOfWheel(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{
		"PIL/__init__.py", "PIL/Image.py", "six.py", "_cffi_backend.cpython-311-x86_64-linux-gnu.so",
		"pillow-10.0.dist-info/METADATA", "pillow-10.0.dist-info/top_level.txt",
		"pillow-10.0.data/purelib/extra_mod/__init__.py", "pillow-10.0.data/scripts/tool",
		"__pycache__/x.pyc",
	} {
		w, _ := zw.Create(name)
		if strings.HasSuffix(name, "top_level.txt") {
			w.Write([]byte("PIL\nlisted_only\n"))
		}
	}
	zw.Close()
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PIL", "_cffi_backend", "extra_mod", "listed_only", "six"}
	if diff := cmp.Diff(want, ModulesOfWheel(zr)); diff != "" {
		t.Errorf("ModulesOfWheel (-want +got):\n%s", diff)
	}
}

func FuzzScan(f *testing.F) {
	f.Add([]byte("import a.b as c, d\nfrom ..x import (y,\n z)\n"))
	f.Add([]byte("try:\n  import a\nexcept ImportError:\n  import b\n"))
	f.Add([]byte("s = '''\nimport x\n'''\nimport_module(\"\")\n__import__('...')"))
	f.Add([]byte("\\\n\\\r\n((((\n'\\"))
	f.Add([]byte("from . import\nfrom import import\nimport\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		imps, err := Scan(src)
		if err != nil {
			return
		}
		for _, i := range imps {
			if i.Line < 1 {
				t.Fatalf("import %+v has no line", i)
			}
		}
	})
}
