package cache

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hfpack/hfpack/builder/layer"
	"github.com/hfpack/hfpack/internal/fsio"
	"github.com/hfpack/hfpack/internal/leftover"
)

// ErrBadKey reports a cache key that is not 64 lower-case hex characters.
var ErrBadKey = errors.New("invalid cache key")

// Cache is a build cache rooted at a directory. It is safe for concurrent use
// by goroutines and by processes sharing the directory.
type Cache struct {
	dir     string
	release func()
}

// staleAfter is the age from which a temporary file is taken to be left by
// a killed build rather than being written by a running one.
const staleAfter = 24 * time.Hour

// Open returns the cache rooted at dir, creating its directories and
// removing what killed builds left: half-written layer blobs (which
// layer.Write holds while it writes them, so a running build's are kept)
// and other temporary files more than a day old.
//
// The cache is held shared until Close, so that a prune, which holds it
// alone (Lock) and so waits for every holder, never removes what a build
// is using; Open waits while a prune runs.
func Open(dir string) (*Cache, error) {
	return open(dir, func(lock string) (func(), error) { return leftover.Share(lock) })
}

// OpenContext is Open, but while a prune holds the cache it calls wait
// once and gives up when ctx is done.
func OpenContext(ctx context.Context, dir string, wait func()) (*Cache, error) {
	if wait != nil {
		wait = sync.OnceFunc(wait)
	}
	return open(dir, func(lock string) (func(), error) {
		return leftover.ShareContext(ctx, lock, 200*time.Millisecond, wait)
	})
}

// held counts this process's open Caches by lock file: an Open nested in
// another (a build's preflight, say) takes the lock without passing the
// gate, which a prune waiting for the outer one may hold.
var held = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

func open(dir string, share func(lock string) (func(), error)) (*Cache, error) {
	for _, sub := range []string{"blobs/sha256", "layers", "refs", "files"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("opening cache: %w", err)
		}
	}
	// The lock file by its real path: a cache opened again through a
	// symlink or another spelling is the same cache.
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("opening cache: %w", err)
	}
	lock, err := filepath.Abs(filepath.Join(real, lockName))
	if err != nil {
		return nil, fmt.Errorf("opening cache: %w", err)
	}
	held.Lock()
	nested := held.n[lock] > 0
	held.Unlock()
	if !nested {
		// A prune waiting for the builds that hold the cache holds the
		// gate: builds starting meanwhile wait for it, so that a stream of
		// overlapping builds cannot keep it waiting for ever.
		passed, err := share(filepath.Join(dir, gateName))
		if err != nil {
			return nil, fmt.Errorf("opening cache: %w", err)
		}
		defer passed()
	}
	release, err := share(lock)
	if err != nil {
		return nil, fmt.Errorf("opening cache: %w", err)
	}
	held.Lock()
	held.n[lock]++
	held.Unlock()
	c := &Cache{dir: dir, release: sync.OnceFunc(func() {
		held.Lock()
		if held.n[lock]--; held.n[lock] == 0 {
			delete(held.n, lock)
		}
		held.Unlock()
		release()
	})}
	leftover.Clean(c.BlobDir(), layerTmpPrefix)
	for _, sub := range []string{"blobs", "layers", "refs", "files"} {
		removeStale(filepath.Join(dir, sub), time.Now().Add(-staleAfter))
	}
	return c, nil
}

// layerTmpPrefix names layer.Write's temporary blobs.
const layerTmpPrefix = ".tmp-layer-"

// removeStale removes ".tmp-*" files in dir last modified before cutoff.
func removeStale(dir string, cutoff time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".tmp-") {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// Close lets Prune run: the layers the cache returned must not be read
// after it. Close is safe to call more than once.
func (c *Cache) Close() error {
	if c.release != nil {
		c.release()
	}
	return nil
}

// Dir returns the cache's root directory.
func (c *Cache) Dir() string { return c.dir }

// BlobDir is the directory layer.Write should write blobs into.
func (c *Cache) BlobDir() string { return filepath.Join(c.dir, "blobs") }

func checkKey(key string) error {
	if len(key) != 64 {
		return fmt.Errorf("%w %q", ErrBadKey, key)
	}
	if _, err := hex.DecodeString(key); err != nil {
		return fmt.Errorf("%w %q", ErrBadKey, key)
	}
	for _, r := range key {
		if r >= 'A' && r <= 'F' {
			return fmt.Errorf("%w %q", ErrBadKey, key)
		}
	}
	return nil
}

// Layer returns the layer stored under the input key, or ok false on a miss.
// An entry whose blob is missing or has the wrong size is a miss.
func (c *Cache) Layer(key string) (l *layer.Layer, ok bool, err error) {
	if err := checkKey(key); err != nil {
		return nil, false, err
	}
	b, err := os.ReadFile(filepath.Join(c.dir, "layers", key+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var d layer.Descriptor
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, false, nil // a damaged entry is a miss; Put overwrites it
	}
	l, err = layer.Open(layer.BlobPath(c.BlobDir(), d.Digest), d)
	if err != nil {
		return nil, false, nil
	}
	fsio.MarkUsed(filepath.Join(c.dir, "layers", key+".json")) // for Entries
	return l, true, nil
}

// PutLayer records that the input key produced l, whose blob must already be
// under BlobDir.
func (c *Cache) PutLayer(key string, l *layer.Layer) error {
	if err := checkKey(key); err != nil {
		return err
	}
	b, err := json.Marshal(l.Descriptor())
	if err != nil {
		return err
	}
	return fsio.WriteFile(filepath.Join(c.dir, "layers", key+".json"), b, 0o644)
}
