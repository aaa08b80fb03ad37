package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hfpack/hfpack/builder/layer"
	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/internal/fsio"
	"github.com/hfpack/hfpack/internal/leftover"
)

const key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func writeLayer(t *testing.T, c *Cache) *layer.Layer {
	t.Helper()
	tr := tree.New()
	if err := tr.AddBytes("a/b", 0o644, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	l, err := layer.Write(context.Background(), tr, c.BlobDir())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLayerRoundTrip(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.Layer(key); ok || err != nil {
		t.Fatalf("Layer() on an empty cache = %t, %v, want a miss", ok, err)
	}
	l := writeLayer(t, c)
	if err := c.PutLayer(key, l); err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.Layer(key)
	if !ok || err != nil {
		t.Fatalf("Layer() = %t, %v, want a hit", ok, err)
	}
	if got.Descriptor() != l.Descriptor() {
		t.Errorf("Layer() = %+v, want %+v", got.Descriptor(), l.Descriptor())
	}
}

func TestDamagedEntriesAreMisses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(c *Cache, l *layer.Layer) error
	}{
		{"truncated blob", func(c *Cache, l *layer.Layer) error { return os.Truncate(l.Path(), 3) }},
		{"missing blob", func(c *Cache, l *layer.Layer) error { return os.Remove(l.Path()) }},
		{"garbled entry", func(c *Cache, l *layer.Layer) error {
			return os.WriteFile(filepath.Join(c.Dir(), "layers", key+".json"), []byte("{\"dig"), 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			l := writeLayer(t, c)
			if err := c.PutLayer(key, l); err != nil {
				t.Fatal(err)
			}
			if err := tc.damage(c, l); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := c.Layer(key); ok || err != nil {
				t.Errorf("Layer() = %t, %v, want a miss", ok, err)
			}
		})
	}
}

func TestBadKeys(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"", "../../etc/passwd", strings.ToUpper(key), key[:63] + "g", key + "0"} {
		if _, _, err := c.Layer(k); !errors.Is(err, ErrBadKey) {
			t.Errorf("Layer(%q) = %v, want ErrBadKey", k, err)
		}
	}
}

func TestFileSHA256IsRemembered(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "weights")
	if err := os.WriteFile(p, []byte("aaaa"), 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := time.Unix(1e9, 0)
	os.Chtimes(p, mtime, mtime)
	first, err := c.FileSHA256(p)
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := fsio.SHA256(p)
	if first != want {
		t.Fatalf("FileSHA256() = %s, want %s", first, want)
	}
	// Untouched: the remembered hash is used without reading the file
	// (shown by a record whose hash is not the file's).
	fake := strings.Repeat("f", 64)
	sum := sha256.Sum256([]byte(p))
	rec := filepath.Join(c.Dir(), "files", hex.EncodeToString(sum[:])+".json")
	b, _ := os.ReadFile(rec)
	os.WriteFile(rec, []byte(strings.Replace(string(b), first, fake, 1)), 0o644)
	if got, _ := c.FileSHA256(p); got != fake {
		t.Errorf("FileSHA256() of an untouched file = %s, want the remembered %s", got, fake)
	}
	// Touched: rehashed.
	os.Chtimes(p, mtime.Add(time.Second), mtime.Add(time.Second))
	if got, _ := c.FileSHA256(p); got != want {
		t.Errorf("FileSHA256() after touch = %s, want %s", got, want)
	}
}

// An edit that keeps the size and the modification time is seen: by the
// change time when the file is rewritten in place, by the inode when it is
// replaced (as editors and `cp -p` do).
func TestFileSHA256SeesEditsThatKeepSizeAndMtime(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "weights")
	mtime := time.Unix(1e9, 0)
	write := func(content string) string {
		t.Helper()
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
		h, _, _ := fsio.SHA256(p)
		return h
	}
	write("aaaa")
	if _, err := c.FileSHA256(p); err != nil {
		t.Fatal(err)
	}
	// In place: wait for the clock the change time is taken from to move
	// on (its resolution is a kernel tick), then rewrite.
	fi, _ := os.Stat(p)
	ctime := fsio.IDOf(fi).Ctime
	if ctime == 0 {
		t.Skip("no change time on this platform")
	}
	for i := 0; ; i++ {
		time.Sleep(5 * time.Millisecond)
		probe := filepath.Join(dir, "probe")
		os.WriteFile(probe, nil, 0o644)
		pi, _ := os.Stat(probe)
		if c := fsio.IDOf(pi).Ctime; c != ctime || i > 400 {
			break
		}
	}
	want := write("bbbb")
	if got, _ := c.FileSHA256(p); got != want {
		t.Errorf("FileSHA256() after a same-size rewrite with the mtime restored = %s, want %s", got, want)
	}
	// Replaced by rename: a new inode.
	tmp := filepath.Join(dir, "new")
	os.WriteFile(tmp, []byte("cccc"), 0o644)
	os.Chtimes(tmp, mtime, mtime)
	os.Rename(tmp, p)
	want, _, _ = fsio.SHA256(p)
	if got, _ := c.FileSHA256(p); got != want {
		t.Errorf("FileSHA256() after a same-size replacement with the mtime kept = %s, want %s", got, want)
	}
}

// A layer blob a killed build left half-written is removed by the next
// Open, however recent; one a running build holds is kept, however old.
func TestOpenRemovesKilledBuildsLayerBlobs(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	killed := filepath.Join(dir, "blobs", ".tmp-layer-killed")
	live := filepath.Join(dir, "blobs", ".tmp-layer-live")
	minuteAgo := time.Now().Add(-time.Minute)
	for _, p := range []string{killed, live} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, minuteAgo, minuteAgo)
	}
	release, err := leftover.Hold(live)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(killed); !os.IsNotExist(err) {
		t.Errorf("a killed build's layer blob survived Open: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a running build's layer blob was removed: %v", err)
	}
}

func TestOpenRemovesStaleTempFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "blobs", ".tmp-layer-1")
	fresh := filepath.Join(dir, "blobs", ".tmp-layer-2")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(stale, old, old)
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file survived Open: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a running build's temporary file was removed: %v", err)
	}
}

func TestRefIsStaleWhenASourceChanges(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "w.safetensors")
	os.WriteFile(p, []byte("weights"), 0o644)
	src, err := StatSources([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	d := writeLayer(t, c).Descriptor()
	if err := c.PutRef(key, d, src); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := c.Ref(key); !ok || err != nil || got != d {
		t.Fatalf("Ref() = %+v, %t, %v, want %+v", got, ok, err, d)
	}
	later := time.Now().Add(time.Hour)
	os.Chtimes(p, later, later)
	if _, ok, err := c.Ref(key); ok || err != nil {
		t.Errorf("Ref() after the source was touched = %t, %v, want a miss", ok, err)
	}
	// Replaced with the same size and mtime: a new inode.
	src, _ = StatSources([]string{p})
	c.PutRef(key, d, src)
	tmp := p + ".new"
	os.WriteFile(tmp, []byte("WEIGHTS"), 0o644)
	os.Chtimes(tmp, later, later)
	os.Rename(tmp, p)
	if _, ok, err := c.Ref(key); ok || err != nil {
		t.Errorf("Ref() after the source was replaced keeping size and mtime = %t, %v, want a miss", ok, err)
	}
	os.Remove(p)
	if _, ok, err := c.Ref(key); ok || err != nil {
		t.Errorf("Ref() after the source was removed = %t, %v, want a miss", ok, err)
	}
}
