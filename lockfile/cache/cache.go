package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hfpack/hfpack/internal/fsio"
)

// EnvDir names the environment variable that overrides the cache directory.
const EnvDir = "HFPACK_CACHE_DIR"

// ErrNotFound is returned for a key or blob the cache does not hold,
// including one that was corrupted and has been removed.
var ErrNotFound = errors.New("not in cache")

// HashError reports content whose sha256 is not the expected one.
type HashError struct {
	// What names the content (a URL or filename), free of credentials.
	What      string
	Want, Got string
}

func (e *HashError) Error() string {
	return fmt.Sprintf("sha256 mismatch for %s: expected %s, got %s", e.What, e.Want, e.Got)
}

// Cache is an on-disk cache rooted at a directory.
type Cache struct {
	dir string
	// verified remembers the blobs checked (or written) by VerifyBlob's
	// callers, by path and FileID: one unchanged since is not read again.
	verified *fsio.Hasher
}

// DefaultDir returns $HFPACK_CACHE_DIR, or os.UserCacheDir()/hfpack.
func DefaultDir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding cache directory: %w", err)
	}
	return filepath.Join(d, "hfpack"), nil
}

// Open returns the cache rooted at dir, creating it; an empty dir means
// DefaultDir.
func Open(dir string) (*Cache, error) {
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	for _, sub := range []string{"blobs/sha256", "refs"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("opening cache: %w", err)
		}
	}
	return &Cache{dir: dir, verified: fsio.NewHasher(filepath.Join(dir, "verified"))}, nil
}

// Dir returns the cache's root directory.
func (c *Cache) Dir() string { return c.dir }

// BlobPath returns where the blob with the given sha256 (lower-case hex)
// lives, whether or not it is present.
func (c *Cache) BlobPath(sum string) string {
	return filepath.Join(c.dir, "blobs", "sha256", sum)
}

func validHex(sum string) bool {
	if len(sum) != 64 {
		return false
	}
	_, err := hex.DecodeString(sum)
	return err == nil
}

// WriteBlob streams r into the blob store and returns its sha256 and path.
// When want is non-empty the content must hash to it: otherwise nothing is
// stored and a *HashError is returned. what names the content in errors.
// The write counts as a use of the blob (see Entries).
func (c *Cache) WriteBlob(what, want string, r io.Reader) (sum, path string, err error) {
	sum, path, err = c.writeBlob(what, want, r, true)
	if err == nil {
		c.markUsed(sum)
	}
	return sum, path, err
}

// writeBlob is WriteBlob; sync flushes the blob to disk before it gets its
// name. Wheels and runtimes are synced: some readers trust their presence
// (or size) without reading them. What PutBlob stores is read only by
// ReadBlob, which checks it, so a blob a crash cut short is a miss.
func (c *Cache) writeBlob(what, want string, r io.Reader, sync bool) (sum, path string, err error) {
	if want != "" && !validHex(want) {
		return "", "", fmt.Errorf("caching %s: malformed sha256 %q", what, want)
	}
	dir := filepath.Join(c.dir, "blobs", "sha256")
	tmp, err := fsio.Create(filepath.Join(dir, "blob"), 0o644)
	if err != nil {
		return "", "", fmt.Errorf("caching %s: %w", what, err)
	}
	if !sync {
		tmp.Unsynced()
	}
	defer tmp.Abort()
	h := sha256.New()
	if _, err = io.Copy(io.MultiWriter(tmp, h), r); err != nil {
		return "", "", fmt.Errorf("caching %s: %w", what, err)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if want != "" && sum != want {
		err = &HashError{What: what, Want: want, Got: sum}
		return "", "", err
	}
	path = c.BlobPath(sum)
	if err = tmp.CommitAs(path); err != nil {
		return "", "", fmt.Errorf("caching %s: %w", what, err)
	}
	if sync {
		c.rememberVerified(path, sum)
	}
	return sum, path, nil
}

// rememberVerified records that the blob at path, as it is now, has
// sha256 sum. It is best effort: without the record, VerifyBlob hashes.
func (c *Cache) rememberVerified(path, sum string) {
	if src, err := fsio.StatSource(path); err == nil {
		c.verified.Remember(src, sum)
	}
}

// PutBlob stores data and returns its sha256. Its readers must use
// ReadBlob (or Get), which verify it: it is not flushed to disk before it
// gets its name. The write counts as a use of the blob (see Entries).
func (c *Cache) PutBlob(data []byte) (string, error) {
	sum, _, err := c.writeBlob("blob", "", bytes.NewReader(data), false)
	if err == nil {
		c.markUsed(sum)
	}
	return sum, err
}

// ReadBlob returns the blob's content after checking its hash, and records
// the use (see Entries). A blob whose content does not match is removed
// and ErrNotFound returned.
func (c *Cache) ReadBlob(sum string) ([]byte, error) {
	data, err := c.readBlob(sum)
	if err == nil {
		c.markUsed(sum)
	}
	return data, err
}

// readBlob is ReadBlob without recording the use: for the body of an
// entry, whose own use Lookup records.
func (c *Cache) readBlob(sum string) ([]byte, error) {
	if !validHex(sum) {
		return nil, fmt.Errorf("reading cached blob: malformed sha256 %q", sum)
	}
	data, err := os.ReadFile(c.BlobPath(sum))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading cached blob %s: %w", sum, err)
	}
	if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != sum {
		os.Remove(c.BlobPath(sum))
		return nil, ErrNotFound
	}
	return data, nil
}

// VerifyBlob checks the blob's hash by streaming it and returns its path.
// A blob this cache wrote or verified before, unchanged since (same size,
// modification and change times, inode), is not read again: a build does
// not re-hash gigabytes of cached wheels it hashed when it fetched them.
// A corrupted blob is removed and ErrNotFound returned. A blob found counts
// as used (see Entries): the caller reads it by path, so a prune must not
// remove it before the caller is done (hfpack's commands hold the build
// cache, which the prune waits for).
func (c *Cache) VerifyBlob(sum string) (string, error) {
	path, err := c.verifyBlob(sum)
	if err == nil {
		c.markUsed(sum)
	}
	return path, err
}

// verifyBlob is VerifyBlob without recording the use.
func (c *Cache) verifyBlob(sum string) (string, error) {
	if !validHex(sum) {
		return "", fmt.Errorf("verifying cached blob: malformed sha256 %q", sum)
	}
	path := c.BlobPath(sum)
	src, err := fsio.StatSource(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("verifying cached blob %s: %w", sum, err)
	}
	if known, ok := c.verified.Known(src); ok && known == sum {
		return path, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("verifying cached blob %s: %w", sum, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("verifying cached blob %s: %w", sum, err)
	}
	if hexSum(h) != sum {
		os.Remove(path)
		return "", ErrNotFound
	}
	c.verified.Remember(src, sum) // stat'ed before the read: a change during it voids the record
	return path, nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// Entry describes a keyed cache entry: the blob holding the body and the
// HTTP validators that came with it.
type Entry struct {
	// Digest is the sha256 of the body.
	Digest string `json:"digest"`
	// URL is where the body finally came from (after redirects), without
	// credentials.
	URL string `json:"url,omitempty"`
	// ContentType is the response's media type.
	ContentType string `json:"content-type,omitempty"`
	// ETag and LastModified are the response's validators.
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last-modified,omitempty"`
	// Stored is when the body was last fetched or revalidated.
	Stored time.Time `json:"stored"`
	// MaxAge is how long after Stored the body is fresh; 0 means it must be
	// revalidated before use.
	MaxAge time.Duration `json:"max-age,omitempty"`
	// Parsed is the sha256 of a blob derived from the body that is cheaper
	// to read than the body (an index page's parsed form), or "". Its
	// reader checks that it was derived from this Digest.
	Parsed string `json:"parsed,omitempty"`
}

// Fresh reports whether e may be used without revalidation at now.
func (e Entry) Fresh(now time.Time) bool {
	return e.MaxAge > 0 && now.Before(e.Stored.Add(e.MaxAge))
}

func (c *Cache) refPath(key string) string {
	s := sha256.Sum256([]byte(key))
	return filepath.Join(c.dir, "refs", hex.EncodeToString(s[:])+".json")
}

// Lookup returns the entry for key without reading its body, and records
// the use (see Entries). A missing key or an unreadable entry gives
// ErrNotFound (and the bad entry is removed).
func (c *Cache) Lookup(key string) (Entry, error) {
	path := c.refPath(key)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{}, ErrNotFound
	}
	if err != nil {
		return Entry{}, fmt.Errorf("reading cache entry: %w", err)
	}
	var e Entry
	if err := json.Unmarshal(raw, &e); err != nil || !validHex(e.Digest) || e.Parsed != "" && !validHex(e.Parsed) {
		os.Remove(path)
		return Entry{}, ErrNotFound
	}
	fsio.MarkUsed(path) // for Entries
	return e, nil
}

// Get returns the entry for key and its verified body. A missing key, an
// unreadable entry or a corrupted body gives ErrNotFound (and the bad entry
// is removed).
func (c *Cache) Get(key string) (Entry, []byte, error) {
	e, err := c.Lookup(key)
	if err != nil {
		return Entry{}, nil, err
	}
	body, err := c.readBlob(e.Digest)
	if errors.Is(err, ErrNotFound) {
		os.Remove(c.refPath(key))
	}
	if err != nil {
		return Entry{}, nil, err
	}
	return e, body, nil
}

// Put stores body under key with the validators in e (e.Digest is set from
// body) and returns the stored entry.
func (c *Cache) Put(key string, e Entry, body []byte) (Entry, error) {
	sum, _, err := c.writeBlob("blob", "", bytes.NewReader(body), false) // the entry records its use
	if err != nil {
		return Entry{}, err
	}
	e.Digest = sum
	return e, c.putRef(key, e)
}

// Touch rewrites the entry for key (after a 304 revalidation, say) without
// touching its body.
func (c *Cache) Touch(key string, e Entry) error {
	if !validHex(e.Digest) {
		return fmt.Errorf("updating cache entry: malformed digest %q", e.Digest)
	}
	return c.putRef(key, e)
}

func (c *Cache) putRef(key string, e Entry) error {
	raw, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("writing cache entry: %w", err)
	}
	// Every read decodes an entry and checks its digest, and a damaged
	// one is a miss: no fsync needed.
	tmp, err := fsio.Create(c.refPath(key), 0o644)
	if err != nil {
		return fmt.Errorf("writing cache entry: %w", err)
	}
	defer tmp.Abort()
	if _, err := tmp.Unsynced().Write(raw); err != nil {
		return fmt.Errorf("writing cache entry: %w", err)
	}
	if err := tmp.Commit(); err != nil {
		return fmt.Errorf("writing cache entry: %w", err)
	}
	return nil
}

// Delete removes the entry for key, if any.
func (c *Cache) Delete(key string) error {
	if err := os.Remove(c.refPath(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting cache entry: %w", err)
	}
	return nil
}
