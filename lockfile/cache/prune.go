package cache

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hfpack/hfpack/internal/fsio"
	"github.com/hfpack/hfpack/internal/gc"
)

// usedDir holds a marker per blob read or written by its sha256, an empty
// file named by the sha256 whose modification time is the blob's last use.
// The blob's own times are left alone: the cache remembers verified blobs
// by their FileID (and other caches remember a hard link to one by its
// own), which a change of times would void.
const usedDir = "used"

// markUsed records a use of the blob sum, for Entries: on its marker, at
// most once every fsio.UseEvery. A blob without one written within that
// time needs none yet: Entries takes its own time for its last use. Errors
// are ignored: a use not recorded only makes the blob look older.
func (c *Cache) markUsed(sum string) {
	p := filepath.Join(c.dir, usedDir, sum)
	if fsio.MarkUsed(p) {
		return
	}
	if fi, err := os.Stat(c.BlobPath(sum)); err == nil && time.Since(fi.ModTime()) < fsio.UseEvery {
		return
	}
	fsio.CreateMarker(p)
}

// Entries describes the cache in dir for gc.Prune, which the caller runs
// while no process uses the cache (hfpack's commands hold the build
// cache's lock shared while they read this one, and pipeline.PruneCache
// holds it alone):
//   - "index page" or "metadata file": a keyed entry (refs/*.json), last
//     used when Lookup (or Get) found it or it was written; it names its
//     body and, for a page, the page's parsed form. One whose JSON is
//     damaged, or whose body is gone, is stale;
//   - "wheel", "metadata file" or "index blob": a blob read or written by
//     its sha256 (a wheel; PEP 658 metadata; a page's body or parsed form),
//     last used when its marker (used/{hex}) says; it names the blob, and
//     the blob's remembered hash (verified/) goes with it. A marker whose
//     blob is gone is stale. A blob neither an entry nor a marker names
//     (fetched by an hfpack that recorded no uses) is one too, last used
//     when it was written;
//   - "file hash record": any other remembered hash, pinned while its file
//     is unchanged and stale after.
//
// Its blobs are every blob in blobs/sha256. Only the files this
// cache writes are described: regular files with its names, temporary
// files (".tmp-*") left out. A missing dir is an empty cache.
func Entries(dir string) (gc.Set, error) {
	set := gc.Set{Blobs: map[string]gc.Blob{}}
	blobDir := filepath.Join(dir, "blobs", "sha256")
	blobPath := func(sum string) string { return filepath.Join(blobDir, sum) }
	if err := gc.ReadDir(blobDir, "", func(p, sum string, fi fs.FileInfo) {
		set.Blobs[p] = gc.BlobOf(fi)
	}); err != nil {
		return gc.Set{}, err
	}
	err := gc.ReadDir(filepath.Join(dir, "refs"), ".json", func(p, name string, fi fs.FileInfo) {
		e := gc.Entry{Kind: "metadata file", Name: name, Used: fi.ModTime(), Files: []string{p}}
		var ce Entry
		b, err := os.ReadFile(p)
		if err != nil || json.Unmarshal(b, &ce) != nil || !validHex(ce.Digest) || ce.Parsed != "" && !validHex(ce.Parsed) {
			e.Stale = true
			set.Entries = append(set.Entries, e)
			return
		}
		if ce.URL != "" || ce.ContentType != "" || ce.Parsed != "" {
			e.Kind = "index page" // metadata entries keep no validators
			if ce.URL != "" {
				e.Name = ce.URL
			}
		}
		e.Blobs = []string{blobPath(ce.Digest)}
		if ce.Parsed != "" {
			e.Blobs = append(e.Blobs, blobPath(ce.Parsed))
		}
		_, ok := set.Blobs[blobPath(ce.Digest)]
		e.Stale = !ok // a miss: Get would remove it
		set.Entries = append(set.Entries, e)
	})
	if err != nil {
		return gc.Set{}, err
	}
	marked := map[string]int{} // blob sha256 to its entry's index
	err = gc.ReadDir(filepath.Join(dir, usedDir), "", func(p, sum string, fi fs.FileInfo) {
		blob := blobPath(sum)
		_, ok := set.Blobs[blob]
		e := gc.Entry{Kind: "index blob", Name: sum, Used: fi.ModTime(), Files: []string{p}, Blobs: []string{blob}, Stale: !ok}
		if ok {
			e.Kind = blobKind(blob)
		}
		marked[sum] = len(set.Entries)
		set.Entries = append(set.Entries, e)
	})
	if err != nil {
		return gc.Set{}, err
	}
	for p, i := range set.AddUnnamed(func(p string) (string, string) { return blobKind(p), filepath.Base(p) }) {
		marked[filepath.Base(p)] = i
	}
	absBlobDir, err := filepath.Abs(blobDir)
	if err != nil {
		return gc.Set{}, fmt.Errorf("reading the index cache: %w", err)
	}
	err = gc.ReadDir(filepath.Join(dir, "verified"), ".json", func(p, _ string, fi fs.FileInfo) {
		e := gc.Entry{Kind: "file hash record", Name: filepath.Base(p), Used: fi.ModTime(), Files: []string{p}, Pinned: true}
		src, err := fsio.ReadRecord(p)
		switch {
		case err != nil:
			e.Stale = true
		case filepath.Dir(src.Path) == absBlobDir:
			if i, ok := marked[filepath.Base(src.Path)]; ok {
				set.Entries[i].Files = append(set.Entries[i].Files, p) // goes with its blob
				return
			}
			e.Name, e.Stale = src.Path, true
		default:
			e.Name, e.Stale = src.Path, !src.Unchanged()
		}
		set.Entries = append(set.Entries, e)
	})
	if err != nil {
		return gc.Set{}, err
	}
	return set, nil
}

// blobKind tells what the blob at p holds by its first bytes, for the
// report: a wheel (a zip archive), core metadata, or another index blob (a
// page or its parsed form).
func blobKind(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return "index blob"
	}
	defer f.Close()
	head := make([]byte, 32)
	n, _ := io.ReadFull(f, head)
	switch head = head[:n]; {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "wheel"
	case bytes.HasPrefix(head, []byte("Metadata-Version:")):
		return "metadata file"
	default:
		return "index blob"
	}
}
