package pylock

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.toml")

func sha(c string) string { return strings.Repeat(c, 64) }

func sample() *Lock {
	up := time.Date(2024, 9, 4, 19, 0, 0, 123456000, time.UTC)
	return &Lock{
		LockVersion: LockVersion, CreatedBy: CreatedBy, RequiresPython: "==3.11.*",
		Environments: []string{`sys_platform == "linux" and platform_machine == "x86_64"`},
		Packages: []Package{
			{Name: "Torch", Version: "2.4.1+cu121", Index: "https://download.pytorch.org/whl/cu121/", RequiresPython: ">=3.8.0",
				Dependencies: []string{"typing_extensions", "numpy", "Typing.Extensions"},
				Wheels: []Wheel{{Name: "torch-2.4.1+cu121-cp311-cp311-linux_x86_64.whl",
					URL: "https://download.pytorch.org/whl/cu121/torch-2.4.1%2Bcu121-cp311-cp311-linux_x86_64.whl", SHA256: sha("a"), Size: 799000000}}},
			{Name: "numpy", Version: "2.1.0", Index: "https://pypi.org/simple/", Dependencies: []string{},
				Wheels: []Wheel{{Name: "numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
					URL: "https://files.pythonhosted.org/packages/numpy-2.1.0.whl", SHA256: sha("b"), Size: 16000000, UploadTime: up}}},
			{Name: "typing_extensions", Version: "4.12.2", Marker: `python_version < "3.12"`, Index: "https://pypi.org/simple/",
				Wheels: []Wheel{{Name: "typing_extensions-4.12.2-py3-none-any.whl", URL: "https://files.pythonhosted.org/t.whl", SHA256: sha("c"), Size: 37000, UploadTime: up.Truncate(time.Second)}}},
		},
		HFPack: &HFPack{RequirementsDigest: "sha256:" + sha("d"), Python: "3.11.9", Platform: "manylinux_2_35_x86_64", Glibc: "2.35",
			ModelFiles: []ModelFile{{Path: "model.safetensors", Size: 42, SHA256: sha("e")}, {Path: "config.json", Size: 7, SHA256: sha("f")}}},
	}
}

func TestMarshalGolden(t *testing.T) {
	got, err := Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden.toml")
	if *update {
		os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("Marshal (-want +got):\n%s", d)
	}
}

func TestMarshalStable(t *testing.T) {
	a := sample()
	b := sample()
	b.Packages[0], b.Packages[2] = b.Packages[2], b.Packages[0]
	b.HFPack.ModelFiles[0], b.HFPack.ModelFiles[1] = b.HFPack.ModelFiles[1], b.HFPack.ModelFiles[0]
	ma, _ := Marshal(a)
	mb, _ := Marshal(b)
	if !bytes.Equal(ma, mb) {
		t.Errorf("package order changed the bytes:\n%s\n---\n%s", ma, mb)
	}
	if a.Packages[0].Name != "Torch" {
		t.Error("Marshal reordered the caller's packages")
	}
}

func TestRoundTrip(t *testing.T) {
	data, err := Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	l, err := Unmarshal(data)
	if err != nil {
		t.Fatalf("Unmarshal: %v\n%s", err, data)
	}
	again, err := Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(data), string(again)); d != "" {
		t.Errorf("Marshal(Unmarshal(x)) != x (-want +got):\n%s", d)
	}
	p, ok := l.Package("TORCH")
	if !ok || p.Version != "2.4.1+cu121" || p.Wheels[0].SHA256 != sha("a") || p.Index != "https://download.pytorch.org/whl/cu121/" {
		t.Errorf("Package(TORCH) = %+v, %t", p, ok)
	}
	if np, _ := l.Package("numpy"); !np.Wheels[0].UploadTime.Equal(time.Date(2024, 9, 4, 19, 0, 0, 123456000, time.UTC)) {
		t.Errorf("upload-time = %v", np.Wheels[0].UploadTime)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	const head = "lock-version = \"1.0\"\ncreated-by = \"x\"\n"
	const wheel = "\n[[packages.wheels]]\nname = \"a-1-py3-none-any.whl\"\nurl = \"https://x/a.whl\"\nhashes = {sha256 = \"" +
		"0000000000000000000000000000000000000000000000000000000000000000\"}\n"
	tests := []struct {
		name string
		doc  string
		is   error
		msg  string
	}{
		{"unknown top-level key", head + "packages = []\nsurprise = 1\n", nil, "unknown key surprise"},
		{"unknown package key", head + "[[packages]]\nname = \"a\"\nversion = \"1\"\ncolour = \"red\"\n" + wheel, nil, "unknown key packages.colour"},
		{"missing packages", head, nil, "missing packages"},
		{"newer major", "lock-version = \"2.0\"\ncreated-by = \"x\"\npackages = []\n", ErrUnsupported, "lock-version"},
		{"missing version", head + "[[packages]]\nname = \"a\"\n" + wheel, nil, "missing version"},
		{"no hashes", head + "[[packages]]\nname = \"a\"\nversion = \"1\"\n[[packages.wheels]]\nname = \"a.whl\"\nurl = \"https://x/a.whl\"\n", nil, "hashes.sha256"},
		{"bad hash", head + "[[packages]]\nname = \"a\"\nversion = \"1\"\n" + strings.Replace(wheel, "0000", "ZZZZ", 1), nil, "hashes.sha256"},
		{"two wheels", head + "[[packages]]\nname = \"a\"\nversion = \"1\"\n" + wheel + wheel, nil, "2 wheels"},
		{"sdist", head + "[[packages]]\nname = \"a\"\nversion = \"1\"\nsdist = {url = \"https://x/a.tar.gz\", hashes = {sha256 = \"00\"}}\n", ErrUnsupported, "wheels only"},
		{"duplicate", head + "[[packages]]\nname = \"A\"\nversion = \"1\"\n" + wheel + "[[packages]]\nname = \"a\"\nversion = \"2\"\n" + wheel, nil, "listed twice"},
		{"string upload-time", head + "[[packages]]\nname = \"a\"\nversion = \"1\"\n" + strings.Replace(wheel, "hashes", "upload-time = \"2024\"\nhashes", 1), nil, "upload-time"},
		{"not toml", "lock-version = ", nil, "parsing lock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Unmarshal([]byte(tt.doc))
			if err == nil {
				t.Fatal("Unmarshal succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error = %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

func TestUnmarshalToleratesToolsAndDependencies(t *testing.T) {
	doc := `lock-version = "1.0"
created-by = "uv"
[[packages]]
name = "a"
version = "1"
dependencies = [{name = "b"}]
[packages.tool.other]
x = 1
[[packages.wheels]]
name = "a-1-py3-none-any.whl"
url = "https://x/a.whl"
hashes = {sha256 = "` + sha("0") + `", md5 = "x"}
[tool.other]
anything = [1, 2]
[tool.hfpack]
python = "3.11"
future-key = true
`
	l, err := Unmarshal([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if l.HFPack == nil || l.HFPack.Python != "3.11" || len(l.Packages) != 1 {
		t.Errorf("Unmarshal = %+v", l)
	}
}

// TestDependencies checks that the dependency graph survives a round trip,
// and that "not recorded" (no key) stays distinct from "none" (an empty
// list): a verifier must not mistake a lock without a graph for one whose
// packages need nothing.
func TestDependencies(t *testing.T) {
	data, err := Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`dependencies = [{ name = "numpy" }, { name = "typing-extensions" }]`)) {
		t.Errorf("torch's dependencies not written normalised, sorted and once each:\n%s", data)
	}
	l, err := Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	torch, _ := l.Package("torch")
	numpy, _ := l.Package("numpy")
	te, _ := l.Package("typing-extensions")
	if d := cmp.Diff([]string{"numpy", "typing-extensions"}, torch.Dependencies); d != "" {
		t.Errorf("torch dependencies (-want +got):\n%s", d)
	}
	if numpy.Dependencies == nil || len(numpy.Dependencies) != 0 {
		t.Errorf("numpy dependencies = %#v, want empty and recorded", numpy.Dependencies)
	}
	if te.Dependencies != nil {
		t.Errorf("typing-extensions dependencies = %#v, want nil (not recorded)", te.Dependencies)
	}

	const head = "lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"a\"\nversion = \"1\"\n"
	const wheel = "[[packages.wheels]]\nname = \"a-1-py3-none-any.whl\"\nurl = \"https://x/a-1-py3-none-any.whl\"\nhashes = {sha256 = \"" + "0000000000000000000000000000000000000000000000000000000000000000\"}\n"
	for doc, msg := range map[string]string{
		head + "dependencies = [{version = \"1\"}]\n" + wheel:                   "without name",
		head + "dependencies = [{name = \"a\", version = \"2\"}]\n" + wheel:     "not the locked one",
		head + "dependencies = [{name = \"a\", vcs = {url = \"x\"}}]\n" + wheel: "unknown key",
		head + "dependencies = [\"a\"]\n" + wheel:                               "parsing lock",
	} {
		if _, err := Unmarshal([]byte(doc)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("Unmarshal(%q) error = %v, want it to mention %q", doc, err, msg)
		}
	}
}

func TestQuote(t *testing.T) {
	for _, s := range []string{`a "b" \c`, "tab\tnl\ncr\r\x00\x1f\x7f", "ünïcødé ✓", `python_version < "3.12" and extra == 'gpu'`} {
		l := &Lock{LockVersion: "1.0", CreatedBy: s, Packages: []Package{}}
		data, err := Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Unmarshal(data)
		if err != nil {
			t.Fatalf("Unmarshal(%q): %v", data, err)
		}
		if back.CreatedBy != s {
			t.Errorf("round trip of %q gave %q", s, back.CreatedBy)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := WriteFile(path, sample()); err != nil {
		t.Fatal(err)
	}
	bad := sample()
	bad.Packages[0].Wheels = nil
	if err := WriteFile(path, bad); err == nil {
		t.Fatal("WriteFile of an invalid lock succeeded")
	}
	l, err := ReadFile(path)
	if err != nil {
		t.Fatalf("the earlier lock was damaged: %v", err)
	}
	if len(l.Packages) != 3 {
		t.Errorf("packages = %d", len(l.Packages))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(entries))
	}
}

// TestPythonReadsLock checks the output with Python's own TOML parser:
// upload-time must be a datetime, hashes a table.
func TestPythonReadsLock(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	path := filepath.Join(t.TempDir(), FileName)
	if err := WriteFile(path, sample()); err != nil {
		t.Fatal(err)
	}
	script := `import sys, tomllib, datetime
d = tomllib.load(open(sys.argv[1], "rb"))
assert d["lock-version"] == "1.0"
w = d["packages"][0]["wheels"][0]
assert isinstance(w["upload-time"], datetime.datetime) and w["upload-time"].tzinfo is not None, w
assert w["hashes"]["sha256"] == "b" * 64
assert [p["name"] for p in d["packages"]] == ["numpy", "torch", "typing-extensions"]
print("ok")
`
	out, err := exec.Command(py, "-c", script, path).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "No module named 'tomllib'") {
			t.Skip("python3 lacks tomllib")
		}
		t.Fatalf("python rejected the lock: %v\n%s", err, out)
	}
}

func FuzzUnmarshal(f *testing.F) {
	seed, _ := Marshal(sample())
	f.Add(seed)
	f.Add([]byte("lock-version = \"1.0\"\ncreated-by = \"x\"\npackages = []\n[tool]\nhfpack = 1\n"))
	f.Add([]byte("lock-version = \"1.9\"\ncreated-by = \"\\u0000\"\npackages = [{name=\"a\",version=\"1\",wheels=[{name=\"x\",url=\"u\",size=-1,hashes={}}]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Unmarshal(data)
		if err != nil {
			return
		}
		out, err := Marshal(l)
		if err != nil {
			t.Fatalf("Marshal of a valid lock: %v", err)
		}
		l2, err := Unmarshal(out)
		if err != nil {
			t.Fatalf("re-reading our own output: %v\n%s", err, out)
		}
		out2, _ := Marshal(l2)
		if !bytes.Equal(out, out2) {
			t.Errorf("output not stable:\n%s\n---\n%s", out, out2)
		}
	})
}
