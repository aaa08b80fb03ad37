package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/internal/readcount"
)

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestPutGet(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	want := Entry{ETag: `"x"`, ContentType: "text/html", Stored: now, MaxAge: time.Minute}
	stored, err := c.Put("page:https://example.com/simple/a/", want, []byte("body"))
	if err != nil {
		t.Fatal(err)
	}
	want.Digest = sum([]byte("body"))
	if d := cmp.Diff(want, stored); d != "" {
		t.Errorf("Put (-want +got):\n%s", d)
	}
	got, body, err := c.Get("page:https://example.com/simple/a/")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" || string(body) != "body" {
		t.Errorf("Get = %q (-want +got):\n%s", body, d)
	}
	if !got.Fresh(now.Add(30*time.Second)) || got.Fresh(now.Add(2*time.Minute)) {
		t.Error("Fresh does not follow MaxAge")
	}
	if _, _, err := c.Get("other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(other) error = %v, want ErrNotFound", err)
	}
}

func TestCorruptedEntriesAreMisses(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(t *testing.T, c *Cache, key string)
	}{
		{"blob bytes changed", func(t *testing.T, c *Cache, key string) {
			os.WriteFile(c.BlobPath(sum([]byte("body"))), []byte("bodY"), 0o644)
		}},
		{"blob truncated", func(t *testing.T, c *Cache, key string) {
			os.WriteFile(c.BlobPath(sum([]byte("body"))), nil, 0o644)
		}},
		{"blob missing", func(t *testing.T, c *Cache, key string) {
			os.Remove(c.BlobPath(sum([]byte("body"))))
		}},
		{"ref not json", func(t *testing.T, c *Cache, key string) {
			os.WriteFile(c.refPath(key), []byte("{"), 0o644)
		}},
		{"ref bad digest", func(t *testing.T, c *Cache, key string) {
			os.WriteFile(c.refPath(key), []byte(`{"digest":"../../etc/passwd"}`), 0o644)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := Open(t.TempDir())
			if _, err := c.Put("k", Entry{}, []byte("body")); err != nil {
				t.Fatal(err)
			}
			tt.corrupt(t, c, "k")
			if _, _, err := c.Get("k"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get after corruption error = %v, want ErrNotFound", err)
			}
			if _, err := os.Stat(c.refPath("k")); err == nil {
				t.Error("corrupted entry left in place")
			}
			if _, err := c.Put("k", Entry{}, []byte("body")); err != nil {
				t.Fatal(err)
			}
			if _, body, err := c.Get("k"); err != nil || string(body) != "body" {
				t.Errorf("Get after refill = %q, %v", body, err)
			}
		})
	}
}

func TestWriteBlobHashMismatch(t *testing.T) {
	c, _ := Open(t.TempDir())
	want := sum([]byte("good"))
	_, _, err := c.WriteBlob("x.whl", want, strings.NewReader("evil"))
	var he *HashError
	if !errors.As(err, &he) || he.Want != want {
		t.Fatalf("WriteBlob error = %v, want *HashError", err)
	}
	entries, _ := os.ReadDir(filepath.Join(c.Dir(), "blobs", "sha256"))
	if len(entries) != 0 {
		t.Errorf("blob dir after mismatch holds %d files, want 0", len(entries))
	}
	got, path, err := c.WriteBlob("x.whl", want, strings.NewReader("good"))
	if err != nil || got != want || path != c.BlobPath(want) {
		t.Fatalf("WriteBlob = %s, %s, %v", got, path, err)
	}
	if p, err := c.VerifyBlob(want); err != nil || p != path {
		t.Errorf("VerifyBlob = %s, %v", p, err)
	}
	os.WriteFile(path, []byte("bad"), 0o644)
	if _, err := c.VerifyBlob(want); !errors.Is(err, ErrNotFound) {
		t.Errorf("VerifyBlob of corrupted blob = %v, want ErrNotFound", err)
	}
}

// TestConcurrentWriters imitates two hfpack processes filling one cache.
func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Open(dir)
			if err != nil {
				t.Error(err)
				return
			}
			for i := range 50 {
				body := bytes.Repeat([]byte(fmt.Sprint(i)), 1000)
				if _, err := c.Put(fmt.Sprint("key", i), Entry{ETag: fmt.Sprint(w)}, body); err != nil {
					t.Error(err)
				}
				if _, got, err := c.Get(fmt.Sprint("key", i)); err != nil || !bytes.Equal(got, body) {
					t.Errorf("Get(key%d) = %d bytes, %v", i, len(got), err)
				}
			}
		}()
	}
	wg.Wait()
	left, _ := filepath.Glob(filepath.Join(dir, "*", ".tmp-*"))
	left2, _ := filepath.Glob(filepath.Join(dir, "blobs", "sha256", ".tmp-*"))
	if len(left)+len(left2) != 0 {
		t.Errorf("temporary files left: %v %v", left, left2)
	}
}

func TestDefaultDirEnv(t *testing.T) {
	t.Setenv(EnvDir, "/tmp/hfpack-test-cache")
	if d, err := DefaultDir(); err != nil || d != "/tmp/hfpack-test-cache" {
		t.Errorf("DefaultDir = %q, %v", d, err)
	}
}

// A wheel the cache wrote, or verified, is not read again to verify it
// while it is unchanged; one changed since, even keeping its size and
// modification time, is hashed again, found damaged and removed.
func TestVerifyBlobReadsAnUnchangedBlobOnce(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("wheel bytes "), 1<<20/12*8) // ~8 MiB
	sum, path, err := c.WriteBlob("w.whl", "", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	before := readcount.Of(t)
	for range 3 {
		if p, err := c.VerifyBlob(sum); err != nil || p != path {
			t.Fatalf("VerifyBlob() = %q, %v", p, err)
		}
	}
	if read := readcount.Of(t) - before; read > int64(len(data))/2 {
		t.Errorf("three verifications of a blob written by the cache read %d bytes, want it not read", read)
	}

	// Reopened (another process): the record still holds.
	c2, err := Open(c.Dir())
	if err != nil {
		t.Fatal(err)
	}
	before = readcount.Of(t)
	if _, err := c2.VerifyBlob(sum); err != nil {
		t.Fatal(err)
	}
	if read := readcount.Of(t) - before; read > int64(len(data))/2 {
		t.Errorf("a verification in a new Cache read %d bytes, want it not read", read)
	}

	fi, _ := os.Stat(path)
	damaged := append([]byte(nil), data...)
	damaged[100] ^= 1
	if err := os.WriteFile(path, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path, fi.ModTime(), fi.ModTime())
	if _, err := c2.VerifyBlob(sum); !errors.Is(err, ErrNotFound) {
		t.Errorf("VerifyBlob() of a blob damaged in place = %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the damaged blob is still there: %v", err)
	}
}
