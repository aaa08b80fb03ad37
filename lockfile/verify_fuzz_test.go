package lockfile_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/lockfile"
	"github.com/hfpack/hfpack/lockfile/pylock"
	"github.com/hfpack/hfpack/manifest"
	"github.com/hfpack/hfpack/python/pep440"
	"github.com/hfpack/hfpack/python/pep508"
	"github.com/hfpack/hfpack/python/tags"
)

// fuzzManifest is the manifest every fuzzed lock is verified against.
func fuzzManifest(dir string) *manifest.Manifest {
	return &manifest.Manifest{
		File: filepath.Join(dir, manifest.DefaultFile), Dir: dir, Name: "fuzz",
		Model: manifest.Model{Path: "model"},
		Python: manifest.Python{Version: "3.11", Requirements: []string{"app>=1.0", `winlib; sys_platform == "win32"`, "Extra_Pkg[x]"},
			IndexURL: "https://pypi.example/simple"},
	}
}

// fuzzLock is a lock of fuzzManifest with the given [[packages]] text.
func fuzzLock(m *manifest.Manifest, packages string) []byte {
	return []byte(fmt.Sprintf(`lock-version = "1.0"
environments = ["implementation_name == 'cpython' and platform_machine == 'x86_64' and python_version == '3.11' and sys_platform == 'linux'"]
requires-python = "==3.11.*"
extras = []
dependency-groups = []
default-groups = []
created-by = "hfpack"
%s
[tool.hfpack]
requirements-digest = %q
python = "3.11"
platform = "manylinux_2_35_x86_64"
glibc = "2.35"
`, packages, m.RequirementsDigest()))
}

// fuzzPkg is one [[packages]] entry with its wheel.
func fuzzPkg(name, version, wheel, url, deps string) string {
	return fmt.Sprintf(`
[[packages]]
name = %q
version = %q
dependencies = %s
index = "https://pypi.example/simple/"

[[packages.wheels]]
name = %q
url = %q
size = 10
hashes = { sha256 = "%s" }
`, name, version, deps, wheel, url, strings.Repeat("a", 64))
}

func goodPackages() string {
	return fuzzPkg("app", "1.0.0", "app-1.0.0-py3-none-any.whl", "https://files.example/app-1.0.0-py3-none-any.whl", `[{ name = "lib" }]`) +
		fuzzPkg("extra-pkg", "2.0", "extra_pkg-2.0-py3-none-any.whl", "https://files.example/extra_pkg-2.0-py3-none-any.whl", `[]`) +
		fuzzPkg("lib", "1.0.0", "lib-1.0.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "https://files.example/x/lib-1.0.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", `[]`)
}

func TestFuzzSeedIsValid(t *testing.T) {
	m := fuzzManifest(t.TempDir())
	l, err := pylock.Unmarshal(fuzzLock(m, goodPackages()))
	if err != nil {
		t.Fatal(err)
	}
	if err := lockfile.Verify(m, l); err != nil {
		t.Fatalf("the fuzz seed does not verify: %v", err)
	}
}

// FuzzVerify feeds arbitrary lock files to the reader every command uses
// (pylock.Unmarshal, then lockfile.Verify). Neither may panic, and a lock
// Verify accepts must really be a lock of the manifest: every entry named
// and versioned as its wheel, every applicable requirement met.
func FuzzVerify(f *testing.F) {
	m := fuzzManifest(f.TempDir())
	good := goodPackages()
	seeds := []string{
		good,
		// dependency cycles, self edges, spellings, duplicates
		strings.Replace(good, `dependencies = []`, `dependencies = [{ name = "app" }]`, 1),
		strings.Replace(good, `[{ name = "lib" }]`, `[{ name = "app" }, { name = "LIB" }, { name = "lib" }]`, 1),
		strings.Replace(good, `[{ name = "lib" }]`, `[{ name = "lib", version = "1.0.0" }]`, 1),
		strings.Replace(good, `[{ name = "lib" }]`, `[{ name = "lib", version = "9" }]`, 1),
		strings.Replace(good, `[{ name = "lib" }]`, `["lib"]`, 1),
		strings.Replace(good, `[{ name = "lib" }]`, `[{ }]`, 1),
		strings.Replace(good, `name = "extra-pkg"`, `name = "Extra_Pkg"`, 1),
		strings.Replace(good, `name = "extra-pkg"`, `name = "extra..pkg"`, 1),
		good + fuzzPkg("LIB", "1.0.0", "lib-1.0.0-py3-none-any.whl", "https://files.example/lib-1.0.0-py3-none-any.whl", `[]`),
		// wheel names and urls that lie
		strings.Replace(good, `"app-1.0.0-py3-none-any.whl"`, `"../../app-1.0.0-py3-none-any.whl"`, 1),
		strings.Replace(good, `"app-1.0.0-py3-none-any.whl"`, `"app-1.0.0.whl"`, 1),
		strings.Replace(good, `"app-1.0.0-py3-none-any.whl"`, `"app-1.0.0-py3-none-any.whl.exe"`, 1),
		strings.Replace(good, "https://files.example/app-1.0.0-py3-none-any.whl", "file:///etc/passwd#/app-1.0.0-py3-none-any.whl", 1),
		strings.Replace(good, "https://files.example/app-1.0.0-py3-none-any.whl", "https://u:p@files.example/a%2Fapp-1.0.0-py3-none-any.whl?x=/app-1.0.0-py3-none-any.whl", 1),
		strings.Replace(good, "https://files.example/app-1.0.0-py3-none-any.whl", "http://[::1%25eth0]/app-1.0.0-py3-none-any.whl", 1),
		// versions
		strings.ReplaceAll(good, "1.0.0", "1.0.0+local.7"),
		strings.ReplaceAll(good, "1.0.0", "v1!1.0.0.post0.dev0"),
		strings.ReplaceAll(good, "1.0.0", "99999999999999999999999.0"),
		strings.Replace(good, `version = "1.0.0"`, `version = "1.0"`, 1),
		strings.Replace(good, `version = "1.0.0"`, `version = ""`, 1),
		// markers and requires-python
		strings.Replace(good, `version = "1.0.0"`, `version = "1.0.0"`+"\nmarker = \""+strings.Repeat("(", 2000)+"os_name == 'posix'"+strings.Repeat(")", 2000)+"\"", 1),
		strings.Replace(good, `version = "1.0.0"`, `version = "1.0.0"`+"\nmarker = \"extra == 'x' or python_full_version >= '3.11.0rc1'\"", 1),
		strings.Replace(good, `version = "1.0.0"`, `version = "1.0.0"`+"\nrequires-python = \">=3.11,<3.11\"", 1),
		strings.Replace(good, `version = "1.0.0"`, `version = "1.0.0"`+"\nrequires-python = \"===3.11\"", 1),
		// no packages, sources hfpack does not install, tables where strings belong
		"\npackages = []\n",
		strings.Replace(good, "[[packages.wheels]]", "sdist = { url = \"https://x/a.tar.gz\", hashes = { sha256 = \"00\" } }\n[[packages.wheels]]", 1),
		strings.Replace(good, `index = "https://pypi.example/simple/"`, `index = { url = "x" }`, 1),
		strings.Replace(good, `index = "https://pypi.example/simple/"`, `index = "https://PYPI.example/simple"`, 1),
		strings.Replace(good, "size = 10", "size = -1", 1),
		strings.Replace(good, "size = 10", "size = 1e3", 1),
		"\n[[packages]]\nname = \"\\u0000\"\nversion = \"\\uFFFF\"\n",
	}
	for _, s := range seeds {
		f.Add(fuzzLock(m, s))
	}
	f.Add([]byte("lock-version = \"1.0\"\ncreated-by = \"x\"\npackages = []\n[tool.hfpack]\nplatform = \"manylinux__\"\nglibc = \"\"\npython = \"3.11\"\n"))
	f.Add([]byte("lock-version = \"1.0\"\ncreated-by = \"x\"\npackages = []\n[tool.hfpack]\nrequirements-digest = \"" + m.RequirementsDigest() + "\"\nplatform = \"manylinux_2_35_\"\nglibc = \"2.35\"\npython = \"3.11\"\n"))
	f.Add([]byte("lock-version = \"1.0\"\ncreated-by = \"x\"\npackages = []\n[tool.hfpack]\nrequirements-digest = \"" + m.RequirementsDigest() + "\"\nplatform = \"manylinux_99999999999999999999_1_x86_64\"\nglibc = \"99999999999999999999.1\"\npython = \"3.11\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := pylock.Unmarshal(data)
		if err != nil {
			return
		}
		if lockfile.Verify(m, l) != nil {
			return
		}
		env := pep508.LinuxEnvironment("3.11.0", "x86_64")
		for _, p := range l.Packages {
			w, err := tags.ParseWheel(p.Wheels[0].Name)
			if err != nil || w.Name != pylock.Normalize(p.Name) {
				t.Fatalf("accepted package %q with wheel %q", p.Name, p.Wheels[0].Name)
			}
			v, err := pep440.ParseVersion(p.Version)
			if err != nil || v.String() != w.Version.String() {
				t.Fatalf("accepted package %s version %q with wheel %q", p.Name, p.Version, p.Wheels[0].Name)
			}
			if p.Dependencies == nil {
				t.Fatalf("accepted package %s without a dependency graph", p.Name)
			}
		}
		for _, s := range m.Python.Requirements {
			r := pep508.MustParseRequirement(s)
			if r.Marker != nil && !r.Marker.Evaluate(env) {
				continue
			}
			p, ok := l.Package(r.Name)
			if !ok {
				t.Fatalf("accepted a lock without %s", r.Name)
			}
			if !r.Specifier.Match(pep440.MustParseVersion(p.Version)) {
				t.Fatalf("accepted %s %s for %s", p.Name, p.Version, s)
			}
		}
	})
}
