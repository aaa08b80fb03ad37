package wheelinstall

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hfpack/hfpack/builder/tree"
)

// pipOnly lists what pip writes that hfpack deliberately does not, so the
// comparison ignores it:
//
//   - __pycache__/*.pyc: hfpack compiles nothing (pip is run with
//     --no-compile here; timestamped .pyc would break reproducibility);
//   - *.dist-info/direct_url.json: pip records the local file URL it was
//     given (PEP 610); hfpack installs from an index lock, where none is due.
//
// Two files differ in content by design and are compared apart: INSTALLER
// says "pip" against "hfpack", and RECORD lists the files above and pip's
// INSTALLER hash and ends lines in "\r\n" where hfpack writes "\n"; with
// those rows dropped, the parsed RECORD rows must be equal. Everything else,
// console-script wrappers included, must match byte for byte: hfpack is given
// pip's interpreter path for its shebangs, so no normalisation is needed.
func pipOnly(p string) bool {
	base := path.Base(p)
	return strings.Contains(p, "__pycache__") || strings.HasSuffix(p, ".pyc") ||
		(strings.HasSuffix(path.Dir(p), ".dist-info") && base == "direct_url.json")
}

// pipWheels are the wheels of the comparison: a pure wheel, a platlib wheel,
// one with console and gui scripts, and one with a .data directory using
// every scheme key. Scripts in .data carry an x bit, as bdist_wheel writes
// them; pip, unlike hfpack, does not make scripts without one executable.
var pipWheels = []wheelSpec{
	{name: "purepkg", version: "1.0", purelib: true, files: []member{
		{name: "purepkg/__init__.py", data: "VERSION = '1.0'\n"},
		{name: "purepkg/sub/mod.py", data: "def f():\n    return 1\n"},
		{name: "purepkg/data/empty.txt", data: ""},
		{name: "purepkg/data/big.txt", data: strings.Repeat("hfpack wheel installer\n", 4000), stored: true},
		{name: "purepkg/ünïcode.py", data: "x = 'ü'\n"},
		{name: "purepkg/sub/", data: ""},
	}},
	{name: "platpkg", version: "2.1.post1", purelib: false, files: []member{
		{name: "platpkg/__init__.py", data: "from ._native import f\n", mode: 0o644},
		{name: "platpkg/_native.cpython-311-x86_64-linux-gnu.so", data: "\x7fELF\x02\x01\x01" + strings.Repeat("\x00", 500), mode: 0o755},
		{name: "platpkg/bin/helper", data: "#!/bin/sh\nexit 0\n", mode: 0o755},
		{name: "platpkg.libs/libfoo-1a2b3c.so.1", data: "\x7fELF lib", mode: 0o755},
	}},
	{name: "clipkg", version: "0.3", purelib: true,
		files: []member{
			{name: "clipkg/__init__.py", data: ""},
			{name: "clipkg/cli.py", data: "def main():\n    return 0\nclass App:\n    @staticmethod\n    def run():\n        return 0\n"},
		},
		entryPoints: "[console_scripts]\nclipkg = clipkg.cli:main\nclipkg-app = clipkg.cli:App.run\n\n[gui_scripts]\nclipkg-gui = clipkg.cli:main\n\n[clipkg.plugins]\nx = clipkg.cli:main\n",
	},
	{name: "DataPkg", version: "3.0", purelib: true, files: []member{
		{name: "datapkg/__init__.py", data: "\n"},
		{name: "DataPkg-3.0.data/scripts/datapkg-run", data: "#!python\nimport datapkg\nprint(datapkg)\n", mode: 0o755},
		{name: "DataPkg-3.0.data/scripts/datapkg-sh", data: "#!/bin/sh\necho datapkg\n", mode: 0o755},
		{name: "DataPkg-3.0.data/data/share/datapkg/config.json", data: "{\"a\": 1}\n"},
		{name: "DataPkg-3.0.data/data/share/man/man1/datapkg.1", data: ".TH DATAPKG 1\n"},
		{name: "DataPkg-3.0.data/headers/datapkg.h", data: "#define DATAPKG 1\n"},
		{name: "DataPkg-3.0.data/purelib/datapkg_extra.py", data: "extra = True\n"},
		{name: "DataPkg-3.0.data/platlib/datapkg_plat.py", data: "plat = True\n"},
	}},
}

type pipEnv struct {
	Executable string
	Version    string // "3.11"
	Schemes    map[string]map[string]string
}

// pipOrSkip returns the python3 that runs pip, its executable and pip's
// install scheme for prefix /usr/local, or skips the test.
func pipOrSkip(t *testing.T, names []string) (string, pipEnv) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH: the pip comparison needs python3 -m pip")
	}
	script := `import json, sys
from pip._internal.locations import get_scheme
out = {"Executable": sys.executable, "Version": "%d.%d" % sys.version_info[:2], "Schemes": {}}
for name in sys.argv[1:]:
    s = get_scheme(name, prefix="/usr/local")
    out["Schemes"][name] = {k: getattr(s, k) for k in ("purelib", "platlib", "scripts", "data", "headers")}
print(json.dumps(out))
`
	cmd := exec.Command(py, append([]string{"-c", script}, names...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("pip is unavailable (python3 -c 'import pip._internal.locations': %v); the pip comparison needs pip >= 21", err)
	}
	var env pipEnv
	if err := json.Unmarshal(out, &env); err != nil {
		t.Fatalf("pip scheme %s: %v", out, err)
	}
	return py, env
}

// TestMatchesPip installs the same wheels with pip and with hfpack and
// compares the file trees: paths, executable bits and contents.
func TestMatchesPip(t *testing.T) {
	dir := t.TempDir()
	var wheels []string
	for _, w := range pipWheels {
		p, _ := w.write(t, dir)
		wheels = append(wheels, p)
	}
	comparePip(t, wheels)
}

// TestMatchesPipRealWheels does the same with the real pip and setuptools
// wheels bundled with the interpreter's ensurepip or Debian's python-wheels
// (hundreds of files, and
// pip's own console scripts, which pip special-cases), plus any wheels listed
// in $HFPACK_PIP_WHEELS (colon-separated paths), to check a real lock's
// wheels by hand.
func TestMatchesPipRealWheels(t *testing.T) {
	if extra := os.Getenv("HFPACK_PIP_WHEELS"); extra != "" {
		t.Run("HFPACK_PIP_WHEELS", func(t *testing.T) { comparePip(t, filepath.SplitList(extra)) })
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH")
	}
	// Debian keeps ensurepip's wheels in /usr/share/python-wheels.
	script := `import glob, os
try:
    import ensurepip
    found = glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "*.whl"))
except ImportError:
    found = []
print("\n".join(sorted(found or glob.glob("/usr/share/python-wheels/*.whl"))))
`
	out, err := exec.Command(py, "-c", script).Output()
	wheels := strings.Fields(string(out))
	if err != nil || len(wheels) == 0 {
		t.Skipf("python3 has no ensurepip wheels to compare with (%v)", err)
	}
	comparePip(t, wheels)
}

// comparePip installs wheels with pip (--root, --prefix /usr/local) and with
// hfpack into one tree each, and compares them.
func comparePip(t *testing.T, wheels []string) {
	t.Helper()
	var names []string
	for _, w := range wheels {
		// pip names a wheel file's requirement as Wheel(filename).name does.
		n, _, _ := strings.Cut(filepath.Base(w), "-")
		names = append(names, strings.ReplaceAll(n, "_", "-"))
	}
	py, env := pipOrSkip(t, names)

	dir := t.TempDir()
	pipRoot, hfRoot := filepath.Join(dir, "pip"), filepath.Join(dir, "hfpack")
	tr := tree.New()
	args := []string{"-m", "pip", "install", "--no-deps", "--no-index", "--no-compile", "--no-cache-dir",
		"--disable-pip-version-check", "--isolated", "--ignore-installed", "--no-warn-script-location",
		"--root", pipRoot, "--prefix", "/usr/local"}
	for i, p := range wheels {
		args = append(args, p)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		s := env.Schemes[names[i]]
		rel := func(k string) string { return strings.TrimPrefix(s[k], "/") }
		scheme := Scheme{Purelib: rel("purelib"), Platlib: rel("platlib"), Scripts: rel("scripts"),
			Data: rel("data"), Include: path.Dir(rel("headers")), Interpreter: env.Executable, PythonVersion: env.Version}
		// pip marks every wheel on its command line REQUESTED.
		if _, err := Install(tr, p, hex.EncodeToString(sum[:]), scheme, WithRequested()); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sh", append([]string{"-c", `umask 022 && exec "$0" "$@"`, py}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PIP_NO_INPUT=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pip install: %v\n%s", err, out)
	}
	materialise(t, tr, hfRoot)

	pipTree, hfTree := snapshot(t, pipRoot), snapshot(t, hfRoot)
	var omitted []string
	for p := range pipTree {
		if pipOnly(p) {
			omitted = append(omitted, p)
			delete(pipTree, p)
		}
	}
	slices.Sort(omitted)
	t.Logf("pip-only files ignored: %s", strings.Join(omitted, ", "))
	var checked int
	for p, e := range hfTree {
		switch path.Base(p) {
		case "INSTALLER":
			if e.data != "hfpack\n" || pipTree[p].data != "pip\n" {
				t.Errorf("%s: hfpack wrote %q, pip %q; want hfpack\\n and pip\\n", p, e.data, pipTree[p].data)
			}
			delete(hfTree, p)
			delete(pipTree, p)
		case "RECORD":
			if diff := cmp.Diff(recordRows(t, pipTree[p].data), recordRows(t, e.data)); diff != "" {
				t.Errorf("%s rows, INSTALLER and pip-only rows dropped (-pip +hfpack):\n%s", p, diff)
			}
			if strings.Contains(e.data, "\r") {
				t.Errorf("%s: hfpack wrote \\r\\n line ends", p)
			}
			checked++
			delete(hfTree, p)
			delete(pipTree, p)
		}
	}
	if checked != len(wheels) {
		t.Errorf("compared %d RECORD files, want %d", checked, len(wheels))
	}
	if diff := cmp.Diff(pipTree, hfTree, cmp.AllowUnexported(fileState{})); diff != "" {
		t.Errorf("installed trees differ (-pip +hfpack):\n%s", diff)
	}
	if len(hfTree) < 10*len(wheels) {
		t.Errorf("compared only %d paths for %d wheels; the fixture wheels install more", len(hfTree), len(wheels))
	}
}

// fileState is what the comparison sees of one path.
type fileState struct {
	Kind   string // "dir" or "file"
	Exec   bool   // any x bit
	SHA256 string
	data   string // contents, for INSTALLER and RECORD
}

func snapshot(t *testing.T, root string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := fileState{Kind: "dir", Exec: info.Mode()&0o111 != 0}
		if !d.IsDir() {
			if !info.Mode().IsRegular() {
				t.Errorf("%s: %s is not a regular file", root, rel)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			st = fileState{Kind: "file", Exec: st.Exec, SHA256: hex.EncodeToString(sum[:])}
			if base := filepath.Base(p); base == "RECORD" || base == "INSTALLER" {
				st.data = string(b)
			}
		}
		out[filepath.ToSlash(rel)] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// recordRows parses a RECORD and drops the rows of INSTALLER and of the
// files pip writes that hfpack omits.
func recordRows(t *testing.T, text string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader([]byte(text))).ReadAll()
	if err != nil {
		t.Fatalf("parsing RECORD %q: %v", text, err)
	}
	var out [][]string
	for _, r := range rows {
		if !pipOnly(r[0]) && path.Base(r[0]) != "INSTALLER" {
			out = append(out, r)
		}
	}
	return out
}
