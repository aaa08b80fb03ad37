package cache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hfpack/hfpack/builder/layer"
	"github.com/hfpack/hfpack/builder/tree"
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
	want, _, _ := HashFile(p)
	if first != want {
		t.Fatalf("FileSHA256() = %s, want %s", first, want)
	}
	// Same size and mtime: the remembered hash is used without reading.
	os.WriteFile(p, []byte("bbbb"), 0o644)
	os.Chtimes(p, mtime, mtime)
	if got, _ := c.FileSHA256(p); got != first {
		t.Errorf("FileSHA256() of an untouched file = %s, want the remembered %s", got, first)
	}
	// Touched: rehashed.
	os.Chtimes(p, mtime.Add(time.Second), mtime.Add(time.Second))
	want, _, _ = HashFile(p)
	if got, _ := c.FileSHA256(p); got != want {
		t.Errorf("FileSHA256() after touch = %s, want %s", got, want)
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
	os.Remove(p)
	if _, ok, err := c.Ref(key); ok || err != nil {
		t.Errorf("Ref() after the source was removed = %t, %v, want a miss", ok, err)
	}
}
