package tree

import (
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func paths(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Type.String()+" "+e.Path)
	}
	return out
}

func TestEntriesSortedWithParents(t *testing.T) {
	tr := New()
	for _, p := range []string{"opt/b/z.txt", "opt/a-b", "opt/a/y.txt", "usr/x"} {
		if err := tr.AddBytes(p, 0o644, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.AddDir("opt/a", 0o700); err != nil {
		t.Fatal(err)
	}
	want := []string{"dir opt", "dir opt/a", "file opt/a-b", "file opt/a/y.txt", "dir opt/b", "file opt/b/z.txt", "dir usr", "file usr/x"}
	got := tr.Entries()
	if diff := cmp.Diff(want, paths(got)); diff != "" {
		t.Errorf("Entries() (-want +got):\n%s", diff)
	}
	if got[1].Mode != 0o700 {
		t.Errorf("explicit dir mode = %o, want 700", got[1].Mode)
	}
	if got[0].Mode != 0o755 {
		t.Errorf("implicit dir mode = %o, want 755", got[0].Mode)
	}
}

func TestInvalidPaths(t *testing.T) {
	for _, p := range []string{"", ".", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a\\b", "a\x00b"} {
		if err := New().AddBytes(p, 0o644, nil); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("AddBytes(%q) = %v, want ErrInvalidPath", p, err)
		}
	}
	if err := New().AddBytes("./a/b/", 0o644, nil); err != nil {
		t.Errorf("AddBytes(./a/b/) = %v, want nil", err)
	}
}

func TestConflicts(t *testing.T) {
	tr := New()
	if err := tr.AddBytes("a/b", 0o644, nil); err != nil {
		t.Fatal(err)
	}
	if err := tr.AddBytes("a/b", 0o644, nil); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate file: %v, want ErrConflict", err)
	}
	if err := tr.AddBytes("a/b/c", 0o644, nil); !errors.Is(err, ErrConflict) {
		t.Errorf("file under file: %v, want ErrConflict", err)
	}
	if err := tr.AddDir("a", 0o755); err != nil {
		t.Errorf("dir over implicit dir: %v", err)
	}
	if err := tr.AddBytes("x/y/z", 0o644, nil); err != nil {
		t.Fatal(err)
	}
	if err := tr.AddBytes("x/y", 0o644, nil); !errors.Is(err, ErrConflict) {
		t.Errorf("file over implicit dir: %v, want ErrConflict", err)
	}
	if err := tr.AddSymlink("x", "elsewhere"); !errors.Is(err, ErrConflict) {
		t.Errorf("symlink over implicit dir: %v, want ErrConflict", err)
	}
}

func TestSymlinkEscape(t *testing.T) {
	tr := New()
	if err := tr.AddSymlink("a/b", "../../etc"); !errors.Is(err, ErrInvalidPath) {
		t.Errorf("escaping symlink: %v, want ErrInvalidPath", err)
	}
	if err := tr.AddSymlink("a/b", "../c"); err != nil {
		t.Errorf("inner symlink: %v", err)
	}
	if err := tr.AddSymlink("a/abs", "/usr/bin/python3"); err != nil {
		t.Errorf("absolute symlink: %v", err)
	}
}

func TestAddBytesCopies(t *testing.T) {
	b := []byte("hello")
	tr := New()
	if err := tr.AddBytes("f", 0o644, b); err != nil {
		t.Fatal(err)
	}
	b[0] = 'j'
	e, _ := tr.Get("f")
	rc, _ := e.Open()
	got, _ := io.ReadAll(rc)
	if string(got) != "hello" {
		t.Errorf("contents = %q, want hello (caller's slice must not alias)", got)
	}
}
