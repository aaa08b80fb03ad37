package fsio

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteFileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	fi, _ := os.Stat(p)
	if string(b) != "new" || fi.Mode().Perm() != 0o644 {
		t.Errorf("WriteFile left %q mode %v, want %q mode 0644", b, fi.Mode().Perm(), "new")
	}
	assertOnly(t, dir, "out.txt")
}

func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Create(p, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("half"))
	f.Abort()
	f.Abort() // idempotent
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("aborted write changed the file to %q", b)
	}
	assertOnly(t, dir, "out.txt")
	if err := f.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	err := WriteFile(filepath.Join(t.TempDir(), "no", "such"), nil, 0o644)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WriteFile into a missing directory: %v, want ErrNotExist", err)
	}
}

func TestCommitAs(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(filepath.Join(dir, "blob"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	f.Write([]byte("x"))
	if err := f.CommitAs(filepath.Join(dir, "named")); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, dir, "named")
}

// An unsynced commit is still atomic: the whole content under its name,
// with its mode, and no temporary left.
func TestUnsyncedCommit(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(filepath.Join(dir, "entry"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	f.Unsynced().Write([]byte("content"))
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, dir, "entry")
	b, err := os.ReadFile(filepath.Join(dir, "entry"))
	fi, _ := os.Stat(filepath.Join(dir, "entry"))
	if err != nil || string(b) != "content" || fi.Mode().Perm() != 0o644 {
		t.Errorf("entry = %q (%v), mode %v", b, err, fi.Mode())
	}
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if len(got) != len(names) || (len(got) > 0 && got[0] != names[0]) {
		t.Errorf("directory holds %v, want %v", got, names)
	}
}

func TestHasherRemembers(t *testing.T) {
	h := NewHasher(filepath.Join(t.TempDir(), "records"))
	p := filepath.Join(t.TempDir(), "weights")
	os.WriteFile(p, []byte("aaaa"), 0o644)
	mtime := time.Unix(1e9, 0)
	os.Chtimes(p, mtime, mtime)
	first, err := h.FileSHA256(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := hexSum("aaaa"); first != want {
		t.Fatalf("FileSHA256() = %s, want %s", first, want)
	}
	src, _ := StatSource(p)
	if got, ok := h.Known(src); !ok || got != first {
		t.Errorf("Known() after hashing = %s, %t, want %s, true", got, ok, first)
	}
	// Rewritten and touched: the record no longer matches; hashed again.
	os.WriteFile(p, []byte("bbbb"), 0o644)
	os.Chtimes(p, mtime.Add(time.Second), mtime.Add(time.Second))
	src, _ = StatSource(p)
	if _, ok := h.Known(src); ok {
		t.Error("Known() of a changed file = true")
	}
	if got, _ := h.FileSHA256(p); got != hexSum("bbbb") {
		t.Errorf("FileSHA256() after a change = %s, want %s", got, hexSum("bbbb"))
	}
	// Without a directory nothing is remembered.
	none := NewHasher("")
	if got, _ := none.FileSHA256(p); got != hexSum("bbbb") {
		t.Errorf("NewHasher(\"\").FileSHA256() = %s, want %s", got, hexSum("bbbb"))
	}
	if _, ok := none.Known(src); ok {
		t.Error("NewHasher(\"\").Known() = true")
	}
}

func hexSum(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestTouchSetsNow(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	if err := Touch(p); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(fi.ModTime()) > time.Minute {
		t.Errorf("mtime %v after Touch, want now", fi.ModTime())
	}
	if err := Touch(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Touch(missing) = %v, want not exist", err)
	}
}

// A use is recorded at most once every UseEvery: a warm lock that reads
// hundreds of entries again within the hour writes no inode.
func TestMarkUsedOncePerPeriod(t *testing.T) {
	p := filepath.Join(t.TempDir(), "entry")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ago     time.Duration
		touched bool
	}{{UseEvery / 2, false}, {2 * UseEvery, true}} {
		before := time.Now().Add(-tc.ago).Truncate(time.Second)
		if err := os.Chtimes(p, before, before); err != nil {
			t.Fatal(err)
		}
		if !MarkUsed(p) {
			t.Fatal("MarkUsed of an existing file reports it missing")
		}
		fi, _ := os.Stat(p)
		if touched := !fi.ModTime().Equal(before); touched != tc.touched {
			t.Errorf("last use %v ago: touched %t, want %t", tc.ago, touched, tc.touched)
		}
	}
	if MarkUsed(p + ".missing") {
		t.Error("MarkUsed of a missing file reports it there")
	}
}
