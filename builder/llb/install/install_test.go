package install_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/builder/llb/install"
	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/builder/wheelinstall"
	"github.com/hfpack/hfpack/lockfile/indextest"
)

var scheme = wheelinstall.Scheme{
	Purelib: "usr/lib/python3/dist-packages", Platlib: "usr/lib/python3/dist-packages",
	Scripts: "usr/bin", Data: "usr", Include: "usr/include/python3.11", Interpreter: "/usr/bin/python3",
}

type file struct {
	Mode    fs.FileMode
	SHA256  string
	Link    string
	ModTime int64
}

// walk lists dir as a user of the layer would see it.
func walk(t *testing.T, dir string) map[string]file {
	t.Helper()
	out := map[string]file{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		f := file{Mode: fi.Mode(), ModTime: fi.ModTime().Unix()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			f.Link, _ = os.Readlink(p)
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s := sha256.Sum256(b)
			f.SHA256 = hex.EncodeToString(s[:])
		}
		out[filepath.ToSlash(rel)] = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fromTree is what the embedded builder puts in its layer for the same wheel.
func fromTree(t *testing.T, tr *tree.Tree, epoch int64) map[string]file {
	t.Helper()
	out := map[string]file{}
	for _, e := range tr.Entries() {
		f := file{ModTime: epoch}
		switch e.Type {
		case tree.Dir:
			f.Mode = fs.ModeDir | 0o755
		case tree.Symlink:
			f.Mode, f.Link = fs.ModeSymlink|0o777, e.Linkname
		case tree.File:
			f.Mode = 0o644
			if e.Mode&0o111 != 0 {
				f.Mode = 0o755
			}
			rc, err := e.Open()
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			io.Copy(h, rc)
			rc.Close()
			f.SHA256 = hex.EncodeToString(h.Sum(nil))
		}
		out[e.Path] = f
	}
	return out
}

func TestMainMatchesEmbeddedInstall(t *testing.T) {
	spec := indextest.WheelSpec{Name: "alpha", Version: "1.0", ConsoleScripts: map[string]string{"alpha": "alpha.cli:main"},
		Files: []indextest.WheelFile{{Path: "alpha/cli.py", Data: []byte("def main(): pass\n")}}}
	data := indextest.MustBuildWheel(spec)
	sum := sha256.Sum256(data)
	wheel := filepath.Join(t.TempDir(), spec.Filename())
	if err := os.WriteFile(wheel, data, 0o600); err != nil {
		t.Fatal(err)
	}
	const epoch = 1700000000
	out := t.TempDir()
	args, err := install.Args(scheme, epoch, out, []install.Wheel{{Path: wheel, SHA256: hex.EncodeToString(sum[:]), Filename: spec.Filename()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := install.Main(args); err != nil {
		t.Fatal(err)
	}
	tr := tree.New()
	if _, err := wheelinstall.Install(tr, wheel, hex.EncodeToString(sum[:]), scheme, wheelinstall.WithFilename(spec.Filename())); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fromTree(t, tr, epoch), walk(t, out)); diff != "" {
		t.Errorf("installed files (-embedded +install.Main):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(out, "usr/bin/alpha")); err != nil {
		t.Errorf("console script missing: %v", err)
	}
}

func TestMainRejects(t *testing.T) {
	data := indextest.MustBuildWheel(indextest.WheelSpec{Name: "beta", Version: "2.0"})
	wheel := filepath.Join(t.TempDir(), "beta-2.0-py3-none-any.whl")
	if err := os.WriteFile(wheel, data, 0o644); err != nil {
		t.Fatal(err)
	}
	js := `{"Purelib":"p","Platlib":"p","Scripts":"bin","Data":"d","Include":"i","Interpreter":"/bin/python3"}`
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong checksum", []string{"--scheme-json", js, "--out", t.TempDir(), wheel + "#" + strings.Repeat("0", 64) + "#beta-2.0-py3-none-any.whl"}, "beta-2.0-py3-none-any.whl"},
		{"no sha", []string{"--scheme-json", js, "--out", t.TempDir(), wheel}, "PATH#SHA256#FILENAME"},
		{"no scheme", []string{"--out", t.TempDir()}, "--scheme-json"},
		{"bad scheme", []string{"--scheme-json", "{", "--out", t.TempDir()}, "--scheme-json"},
		{"unknown flag", []string{"--pip"}, "pip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := install.Main(tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Main: %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestWriteFixesTimes(t *testing.T) {
	tr := tree.New()
	tr.AddBytes("a/b/c.txt", 0o600, []byte("x"))
	tr.AddBytes("a/run.sh", 0o700, []byte("#!/bin/sh\n"))
	tr.AddSymlink("a/link", "b/c.txt")
	dir := t.TempDir()
	if err := install.Write(tr, dir, time.Unix(42, 0).UTC()); err != nil {
		t.Fatal(err)
	}
	want := map[string]file{
		"a":         {Mode: fs.ModeDir | 0o755, ModTime: 42},
		"a/b":       {Mode: fs.ModeDir | 0o755, ModTime: 42},
		"a/b/c.txt": {Mode: 0o644, ModTime: 42, SHA256: shaOf("x")},
		"a/link":    {Mode: fs.ModeSymlink | 0o777, ModTime: 42, Link: "b/c.txt"},
		"a/run.sh":  {Mode: 0o755, ModTime: 42, SHA256: shaOf("#!/bin/sh\n")},
	}
	if diff := cmp.Diff(want, walk(t, dir)); diff != "" {
		t.Errorf("written tree (-want +got):\n%s", diff)
	}
}

func shaOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestWriteNamesTheFileItCannotWrite(t *testing.T) {
	tr := tree.New()
	tr.AddBytes("a/b/c.txt", 0o644, []byte("x"))
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a/b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a/b/c.txt"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := install.Write(tr, dir, time.Unix(42, 0))
	if err == nil || !strings.Contains(err.Error(), "/a/b/c.txt") || !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Write over an existing file: got %v, want an error naming /a/b/c.txt that wraps fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a/b/c.txt")); string(b) != "y" {
		t.Errorf("the existing file was overwritten: %q", b)
	}
}
