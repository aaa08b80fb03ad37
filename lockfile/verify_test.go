package lockfile_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/lockfile"
	"github.com/hfpack/hfpack/lockfile/cache"
	"github.com/hfpack/hfpack/lockfile/index"
	"github.com/hfpack/hfpack/lockfile/indextest"
	"github.com/hfpack/hfpack/lockfile/pylock"
	"github.com/hfpack/hfpack/manifest"
	"github.com/hfpack/hfpack/python/metadata"
)

// verifyFixture is a locked project: app>=1.0 (which needs lib>=1.0, and
// winlib on Windows only) and requests, with a model directory, served by a
// loopback index that also publishes lib 0.9.0 (too old for app).
type verifyFixture struct {
	srv  *indextest.Server
	m    *manifest.Manifest
	lock []byte // the lock as hfpack lock wrote it
	md   map[string]*metadata.Metadata
	c    *cache.Cache
}

func newVerifyFixture(t *testing.T) *verifyFixture {
	t.Helper()
	srv := indextest.NewServer()
	t.Cleanup(srv.Close)
	wheel(srv, "app", "1.0.0", "lib>=1.0", `winlib; sys_platform == "win32"`, `docs; extra == "docs"`)
	wheel(srv, "lib", "1.0.0")
	wheel(srv, "lib", "0.9.0")
	wheel(srv, "requests", "2.0.0")
	m := newManifest(t, srv.URL, []string{"app>=1.0", "requests", `pywin32; sys_platform == "win32"`})
	writeModel(t, m.ModelDir())
	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l, err := lockfile.Lock(context.Background(), m, target, nil, lockfile.WithCacheDir(c.Dir()))
	if err != nil {
		t.Fatal(err)
	}
	data, err := pylock.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	f := &verifyFixture{srv: srv, m: m, lock: data, c: c, md: map[string]*metadata.Metadata{}}
	src, err := lockfile.Source(m, index.WithCache(c))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range l.Packages {
		w := p.Wheels[0]
		path, err := src.Fetch(context.Background(), index.File{Filename: w.Name, URL: w.URL, SHA256: w.SHA256, Size: w.Size, Index: p.Index})
		if err != nil {
			t.Fatal(err)
		}
		if f.md[p.Name], err = lockfile.ReadWheelMetadata(path); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// verify reads lock text as every reader does and verifies it.
func (f *verifyFixture) verify(t *testing.T, text []byte, opts ...lockfile.VerifyOption) error {
	t.Helper()
	l, err := pylock.Unmarshal(text)
	if err != nil {
		return err
	}
	h, err := newHasher(t)
	if err != nil {
		t.Fatal(err)
	}
	return lockfile.Verify(f.m, l, append([]lockfile.VerifyOption{lockfile.WithModelCheck(f.m.ModelDir(), h)}, opts...)...)
}

type plainHasher struct{}

func (plainHasher) FileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return sha256Hex(b), nil
}

func newHasher(*testing.T) (lockfile.FileHasher, error) { return plainHasher{}, nil }

func TestVerifyAcceptsWhatLockWrote(t *testing.T) {
	f := newVerifyFixture(t)
	if err := f.verify(t, f.lock, lockfile.WithWheelMetadata(f.md)); err != nil {
		t.Fatalf("Verify of a fresh lock: %v\n%s", err, f.lock)
	}
	l, _ := pylock.Unmarshal(f.lock)
	wantVersions(t, l, "app==1.0.0", "lib==1.0.0", "requests==2.0.0")
}

// edit replaces old by new in the lock text, failing if old is absent.
func edit(t *testing.T, text []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(text, []byte(old)) {
		t.Fatalf("the lock has no %q:\n%s", old, text)
	}
	return bytes.Replace(text, []byte(old), []byte(new), 1)
}

// entry returns the [[packages]] block of name, up to the next one.
func entry(t *testing.T, text []byte, name string) string {
	t.Helper()
	s := string(text)
	i := strings.Index(s, "[[packages]]\nname = \""+name+"\"\n")
	if i < 0 {
		t.Fatalf("no entry %s in\n%s", name, s)
	}
	j := strings.Index(s[i+1:], "\n[[packages]]")
	k := strings.Index(s[i+1:], "\n[tool.hfpack]")
	if j < 0 || k >= 0 && k < j {
		j = k
	}
	return s[i : i+1+j+1]
}

// TestVerifyRefusesTampering edits each field of a lock and checks what
// every reader (lock --check, check, build) then says. Fields that nothing
// installs from (created-by, upload-time) stay accepted; size and sha256
// are verified when the wheel is downloaded, which the test does too.
func TestVerifyRefusesTampering(t *testing.T) {
	f := newVerifyFixture(t)
	lib := entry(t, f.lock, "lib")
	for _, tc := range []struct {
		field  string
		tamper func(t *testing.T, text []byte) []byte
		is     error  // nil: only the message is checked
		want   string // "" means the lock must still verify offline
	}{
		{"lock-version", func(t *testing.T, b []byte) []byte { return edit(t, b, `lock-version = "1.0"`, `lock-version = "2.0"`) }, pylock.ErrUnsupported, "lock-version"},
		{"environments", func(t *testing.T, b []byte) []byte {
			return edit(t, b, "platform_machine == 'x86_64'", "platform_machine == 'aarch64'")
		}, lockfile.ErrMismatch, "environments"},
		{"requires-python", func(t *testing.T, b []byte) []byte {
			return edit(t, b, `requires-python = "==3.11.*"`, `requires-python = "==3.12.*"`)
		}, lockfile.ErrMismatch, `requires-python "==3.12.*" is not the recorded target's "==3.11.*"`},
		{"extras", func(t *testing.T, b []byte) []byte { return edit(t, b, "extras = []", `extras = ["gpu"]`) }, lockfile.ErrMismatch, "extras"},
		{"dependency-groups", func(t *testing.T, b []byte) []byte {
			return edit(t, b, "dependency-groups = []", `dependency-groups = ["dev"]`)
		}, lockfile.ErrMismatch, "dependency-groups"},
		{"default-groups", func(t *testing.T, b []byte) []byte {
			return edit(t, b, "default-groups = []", `default-groups = ["dev"]`)
		}, lockfile.ErrMismatch, "default-groups"},
		{"created-by (informational)", func(t *testing.T, b []byte) []byte {
			return edit(t, b, `created-by = "hfpack"`, `created-by = "someone"`)
		}, nil, ""},
		{"packages.version (issue: 1.0.0 -> 0.1)", func(t *testing.T, b []byte) []byte {
			return edit(t, b, "name = \"app\"\nversion = \"1.0.0\"", "name = \"app\"\nversion = \"0.1\"")
		}, lockfile.ErrMismatch, "package app: version 0.1 does not match its wheel app-1.0.0-py3-none-any.whl (version 1.0.0)"},
		{"packages.name (issue: renamed to requests)", func(t *testing.T, b []byte) []byte {
			return edit(t, b, "[[packages]]\nname = \"lib\"", "[[packages]]\nname = \"requests\"")
		}, nil, "listed twice"},
		{"packages.name (renamed to another project)", func(t *testing.T, b []byte) []byte {
			return edit(t, b, "[[packages]]\nname = \"lib\"", "[[packages]]\nname = \"urllib3\"")
		}, lockfile.ErrMismatch, "its wheel lib-1.0.0-py3-none-any.whl is of project lib, not urllib3"},
		{"packages (issue: one of two entries deleted)", func(t *testing.T, b []byte) []byte { return edit(t, b, lib, "") },
			lockfile.ErrMismatch, "package app: depends on lib, which the lock does not contain"},
		{"packages (a required entry deleted)", func(t *testing.T, b []byte) []byte { return edit(t, b, entry(t, b, "requests"), "") },
			lockfile.ErrMismatch, `requirement "requests" of ` + f.m.File + `: requests is not in the lock`},
		{"packages (an entry nothing needs)", func(t *testing.T, b []byte) []byte {
			extra := strings.ReplaceAll(lib, "lib", "zlib")
			return edit(t, b, lib, lib+extra)
		}, lockfile.ErrMismatch, "package zlib: nothing in the requirements"},
		{"packages.marker", func(t *testing.T, b []byte) []byte {
			return edit(t, b, "name = \"lib\"\nversion = \"1.0.0\"\n", "name = \"lib\"\nversion = \"1.0.0\"\nmarker = \"sys_platform == 'win32'\"\n")
		}, lockfile.ErrMismatch, "excludes the recorded target"},
		{"packages.requires-python", func(t *testing.T, b []byte) []byte {
			return edit(t, b, "version = \"1.0.0\"\n", "version = \"1.0.0\"\nrequires-python = \">=3.12\"\n")
		}, lockfile.ErrMismatch, "requires-python >=3.12 excludes the recorded Python 3.11.0"},
		{"packages.dependencies (edge removed)", func(t *testing.T, b []byte) []byte {
			return edit(t, b, `dependencies = [{ name = "lib" }]`, `dependencies = []`)
		}, lockfile.ErrMismatch, "package lib: nothing in the requirements"},
		{"packages.dependencies (unknown edge)", func(t *testing.T, b []byte) []byte {
			return edit(t, b, `dependencies = [{ name = "lib" }]`, `dependencies = [{ name = "lib" }, { name = "six" }]`)
		}, lockfile.ErrMismatch, "package app: depends on six, which the lock does not contain"},
		{"packages.dependencies (absent)", func(t *testing.T, b []byte) []byte {
			return edit(t, b, "dependencies = [{ name = \"lib\" }]\n", "")
		}, lockfile.ErrMismatch, "package app: no dependencies recorded"},
		{"packages.dependencies (self)", func(t *testing.T, b []byte) []byte {
			return edit(t, b, `dependencies = [{ name = "lib" }]`, `dependencies = [{ name = "app" }, { name = "lib" }]`)
		}, lockfile.ErrMismatch, "package app: lists itself"},
		{"packages.index", func(t *testing.T, b []byte) []byte {
			return edit(t, b, `index = "`+f.srv.URL+`"`, `index = "https://evil.example/simple/"`)
		}, lockfile.ErrMismatch, "index https://evil.example/simple/ is none of the indexes"},
		{"packages.wheels.name", func(t *testing.T, b []byte) []byte {
			return edit(t, b, `name = "lib-1.0.0-py3-none-any.whl"`, `name = "lib-0.9.0-py3-none-any.whl"`)
		}, lockfile.ErrMismatch, "package lib: version 1.0.0 does not match its wheel lib-0.9.0-py3-none-any.whl"},
		{"packages.wheels.name (a wheel for another target)", func(t *testing.T, b []byte) []byte {
			return bytes.ReplaceAll(b, []byte("lib-1.0.0-py3-none-any.whl"), []byte("lib-1.0.0-cp312-cp312-manylinux_2_17_x86_64.whl"))
		}, lockfile.ErrMismatch, "does not fit the recorded target"},
		{"packages.wheels.url (not http)", func(t *testing.T, b []byte) []byte {
			return edit(t, b, "url = \"http://", "url = \"file://")
		}, lockfile.ErrMismatch, "is not an http or https URL"},
		{"packages.wheels.upload-time (informational)", func(t *testing.T, b []byte) []byte {
			return edit(t, b, "upload-time = 2024-01-02T03:04:05Z", "upload-time = 1999-01-02T03:04:05Z")
		}, nil, ""},
		{"tool.hfpack.requirements-digest", func(t *testing.T, b []byte) []byte {
			return edit(t, b, `requirements-digest = "sha256:`, `requirements-digest = "sha256:0`)
		}, lockfile.ErrStale, "no longer matches the requirements"},
		{"tool.hfpack.python", func(t *testing.T, b []byte) []byte { return edit(t, b, `python = "3.11"`, `python = "3.12"`) },
			lockfile.ErrMismatch, `tool.hfpack.python "3.12" is not python.version "3.11"`},
		{"tool.hfpack.platform", func(t *testing.T, b []byte) []byte {
			return edit(t, b, `platform = "manylinux_2_35_x86_64"`, `platform = "manylinux_2_17_x86_64"`)
		}, lockfile.ErrMismatch, `tool.hfpack.platform "manylinux_2_17_x86_64" does not match tool.hfpack.glibc "2.35"`},
		{"tool.hfpack.glibc", func(t *testing.T, b []byte) []byte { return edit(t, b, `glibc = "2.35"`, `glibc = "2.39"`) },
			lockfile.ErrMismatch, "does not match tool.hfpack.glibc"},
		{"tool.hfpack.model-files.path", func(t *testing.T, b []byte) []byte {
			return edit(t, b, `path = "config.json"`, `path = "config2.json"`)
		}, lockfile.ErrModelChanged, "config.json is new"},
		{"tool.hfpack.model (a Hub model the manifest does not name)", func(t *testing.T, b []byte) []byte {
			return editModel(t, b, "[[tool.hfpack.model-files]]", "[tool.hfpack.model]\nsource = \"hf://org/other\"\nrevision = \"main\"\ncommit = \""+strings.Repeat("a", 40)+"\"\n\n[[tool.hfpack.model-files]]")
		}, lockfile.ErrStale, "pins hf://org/other at main, not the [model] in"},
		{"packages.attestation-identities (not used by hfpack)", func(t *testing.T, b []byte) []byte {
			return edit(t, b, "[[packages.wheels]]", "attestation-identities = [{ kind = \"GitHub\", repository = \"x/y\" }]\n\n[[packages.wheels]]")
		}, nil, ""},
		{"tool.hfpack.model-files.size", func(t *testing.T, b []byte) []byte {
			return editModel(t, b, "size = 21\n", "size = 22\n")
		}, lockfile.ErrModelChanged, "config.json changed"},
		{"tool.hfpack.model-files.sha256", func(t *testing.T, b []byte) []byte {
			return editModel(t, b, `sha256 = "`+sha256Hex([]byte(`{"model_type":"bert"}`)), `sha256 = "`+strings.Repeat("0", 64))
		}, lockfile.ErrModelChanged, "config.json changed"},
		{"tool.hfpack.model-files (entry removed)", func(t *testing.T, b []byte) []byte {
			i := bytes.Index(b, []byte("\n[[tool.hfpack.model-files]]"))
			return b[:i+1]
		}, lockfile.ErrModelChanged, "config.json is new"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			text := tc.tamper(t, bytes.Clone(f.lock))
			err := f.verify(t, text)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("an edit of an informational field was refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("the tampered lock verified:\n%s", text)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error = %v, want it to wrap %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v\nwant it to mention %q", err, tc.want)
			}
		})
	}
}

// editModel edits the [[tool.hfpack.model-files]] part of the lock.
func editModel(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	i := bytes.Index(b, []byte("[[tool.hfpack.model-files]]"))
	return append(bytes.Clone(b[:i]), edit(t, b[i:], old, new)...)
}

// TestVerifyModelEdited is the reproduction: a model file edited
// after locking must fail every reader, lock --check included.
func TestVerifyModelEdited(t *testing.T) {
	f := newVerifyFixture(t)
	if err := os.WriteFile(filepath.Join(f.m.ModelDir(), "config.json"), []byte(`{"model_type":"gpt2"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	err := f.verify(t, f.lock)
	if !errors.Is(err, lockfile.ErrModelChanged) || !strings.Contains(err.Error(), "config.json changed (pinned in pylock.toml): run hfpack lock") {
		t.Fatalf("error = %v, want the changed model file named", err)
	}
	if err := os.RemoveAll(f.m.ModelDir()); err != nil {
		t.Fatal(err)
	}
	if err := f.verify(t, f.lock); !errors.Is(err, lockfile.ErrModelChanged) || !strings.Contains(err.Error(), "config.json is missing") {
		t.Fatalf("error = %v, want the missing model file named", err)
	}
}

// TestVerifySizeAndHashAtDownload: url, size and sha256 cannot be checked
// offline: the download every build does refuses a wrong sha256 (or a url
// serving other bytes), and the check of the downloaded wheels
// (WithWheels) a wrong size.
func TestVerifySizeAndHashAtDownload(t *testing.T) {
	f := newVerifyFixture(t)
	fresh, err := cache.Open(t.TempDir()) // nothing downloaded yet, as on a new machine
	if err != nil {
		t.Fatal(err)
	}
	src, err := lockfile.Source(f.m, index.WithCache(fresh))
	if err != nil {
		t.Fatal(err)
	}
	l, _ := pylock.Unmarshal(f.lock)
	paths := map[string]string{}
	for _, p := range l.Packages {
		w := p.Wheels[0]
		if _, err := src.Fetch(context.Background(), index.File{Filename: w.Name, URL: w.URL, SHA256: strings.Repeat("0", 64), Size: w.Size, Index: p.Index}); err == nil {
			t.Errorf("%s with a tampered sha256: the download was accepted", w.Name)
		}
		if paths[p.Name], err = src.Fetch(context.Background(), index.File{Filename: w.Name, URL: w.URL, SHA256: w.SHA256, Size: w.Size, Index: p.Index}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.verify(t, f.lock, lockfile.WithWheels(paths)); err != nil {
		t.Fatalf("Verify with the wheels: %v", err)
	}
	// A url pointing at another file: the sha256 refuses what it serves.
	p0, _ := l.Package("lib")
	other := strings.Replace(p0.Wheels[0].URL, "lib-1.0.0", "lib-0.9.0", 1)
	fresh2, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src2, err := lockfile.Source(f.m, index.WithCache(fresh2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src2.Fetch(context.Background(), index.File{Filename: p0.Wheels[0].Name, URL: other, SHA256: p0.Wheels[0].SHA256, Size: p0.Wheels[0].Size, Index: p0.Index}); err == nil {
		t.Error("a url edited to serve another wheel: the download was accepted")
	}
	p, _ := l.Package("lib")
	text := edit(t, f.lock, fmt.Sprintf("size = %d\n", p.Wheels[0].Size), fmt.Sprintf("size = %d\n", p.Wheels[0].Size+1))
	if err := f.verify(t, text); err != nil {
		t.Fatalf("offline Verify refused a size it cannot check: %v", err)
	}
	err = f.verify(t, text, lockfile.WithWheels(paths))
	if !errors.Is(err, lockfile.ErrMismatch) || !strings.Contains(err.Error(), fmt.Sprintf("package lib: size %d in the lock, but the wheel lib-1.0.0-py3-none-any.whl", p.Wheels[0].Size+1)) {
		t.Fatalf("error = %v, want the wrong size named", err)
	}
}

// TestVerifyAgainstMetadata: edits the offline check cannot see (the entry,
// its wheel, url and hash all swapped consistently for an older release)
// are caught against the wheels' METADATA, as build does.
func TestVerifyAgainstMetadata(t *testing.T) {
	f := newVerifyFixture(t)
	old := indextest.WheelSpec{Name: "lib", Version: "0.9.0"}
	data, err := indextest.BuildWheel(old)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := pylock.Unmarshal(f.lock)
	p, _ := l.Package("lib")
	text := bytes.ReplaceAll(f.lock, []byte("lib-1.0.0-py3-none-any.whl"), []byte(old.Filename()))
	text = edit(t, text, "name = \"lib\"\nversion = \"1.0.0\"", "name = \"lib\"\nversion = \"0.9.0\"")
	text = edit(t, text, p.Wheels[0].SHA256, sha256Hex(data))
	if err := f.verify(t, text); err != nil {
		t.Fatalf("offline Verify: %v (this edit is consistent offline)", err)
	}
	md := map[string]*metadata.Metadata{}
	for k, v := range f.md {
		md[k] = v
	}
	if md["lib"], err = metadata.Parse(old.Metadata()); err != nil {
		t.Fatal(err)
	}
	err = f.verify(t, text, lockfile.WithWheelMetadata(md))
	if !errors.Is(err, lockfile.ErrMismatch) || !strings.Contains(err.Error(), "app 1.0.0 requires lib>=1.0, but the lock has lib 0.9.0") {
		t.Fatalf("error = %v, want the violated requirement named", err)
	}

	for _, tc := range []struct {
		name   string
		text   []byte
		forge  func(md map[string]*metadata.Metadata)
		expect string
	}{
		{"METADATA version differs", f.lock, func(md map[string]*metadata.Metadata) { md["lib"].Version = "1.0.1" },
			"package lib: version 1.0.0, but its wheel's METADATA says 1.0.1"},
		{"METADATA name differs", f.lock, func(md map[string]*metadata.Metadata) { md["lib"].Name = "requests" },
			"says in METADATA that it is requests"},
		{"METADATA requires more", f.lock, func(md map[string]*metadata.Metadata) {
			md["requests"].RequiresDist = []string{"lib"}
		}, "package requests: its METADATA requires lib for the target, but the lock's dependencies of requests do not list it"},
		{"lock lists more", edit(t, f.lock, "name = \"requests\"\nversion = \"2.0.0\"\ndependencies = []", "name = \"requests\"\nversion = \"2.0.0\"\ndependencies = [{ name = \"lib\" }]"),
			func(map[string]*metadata.Metadata) {}, "package requests: the lock lists lib as its dependency, but its METADATA does not require it"},
		{"METADATA requires Python", f.lock, func(md map[string]*metadata.Metadata) { md["lib"].RequiresPython = ">=3.12" },
			"its METADATA requires Python >=3.12"},
		{"METADATA requires an unlocked package", f.lock, func(md map[string]*metadata.Metadata) {
			md["lib"].RequiresDist = []string{`six; python_version >= "3"`}
		}, "package lib: its METADATA requires six"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md := map[string]*metadata.Metadata{}
			for k, v := range f.md {
				c := *v
				md[k] = &c
			}
			tc.forge(md)
			err := f.verify(t, tc.text, lockfile.WithWheelMetadata(md))
			if !errors.Is(err, lockfile.ErrMismatch) {
				t.Fatalf("error = %v, want ErrMismatch", err)
			}
			if !strings.Contains(err.Error(), tc.expect) {
				t.Errorf("error = %v\nwant it to mention %q", err, tc.expect)
			}
		})
	}
}

func TestReadWheelMetadataRefusesOddWheels(t *testing.T) {
	dir := t.TempDir()
	for name, spec := range map[string]indextest.WheelSpec{
		"two": {Name: "a", Version: "1", Raw: []indextest.WheelFile{{Path: "b-1.dist-info/METADATA", Data: []byte("Metadata-Version: 2.1\nName: b\nVersion: 1\n")}}},
	} {
		data, err := indextest.BuildWheel(spec)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+".whl")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := lockfile.ReadWheelMetadata(p); err == nil || !strings.Contains(err.Error(), "two METADATA") {
			t.Errorf("%s: error = %v", name, err)
		}
	}
	p := filepath.Join(dir, "not.whl")
	os.WriteFile(p, []byte("not a zip"), 0o644)
	if _, err := lockfile.ReadWheelMetadata(p); err == nil {
		t.Error("a file that is not a zip was read")
	}
}
