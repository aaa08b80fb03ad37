// Package gc chooses what to remove from hfpack's caches and removes it.
//
// A cache describes itself as entries and blobs. An entry is what a build
// looks up (a layer recorded under its input key, an image BuildKit
// exported): its own small files, the time it was last used, and the blobs
// it names. Blobs are content, named by digest and shared: a blob is
// removed once no entry that is kept names it, so a blob no entry names
// (the leftover of a build killed between writing a blob and recording it)
// goes on the first prune. Entries are removed least recently used first,
// with buildctl prune's policy: those unused for longer than a duration,
// then the oldest until what is left fits a size.
//
// gc never takes a lock: the caller holds whatever keeps builds from using
// the cache while it prunes.
package gc

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"
)

// Entry is one thing a cache can drop.
type Entry struct {
	// Kind says what the entry is, for the report ("layer", "image").
	Kind string
	// Name says which, for the report (a key, a digest, a path).
	Name string
	// Used is when a build last used the entry.
	Used time.Time
	// Stale marks an entry no build can use again (a record of a file that
	// changed since): it is removed whatever the policy.
	Stale bool
	// Pinned marks an entry kept whatever the age and size policy (a small
	// record that saves reading a large file); only Policy.All removes it.
	Pinned bool
	// Files are the entry's own files, removed with it.
	Files []string
	// Blobs are the paths of the blobs the entry names.
	Blobs []string
}

// Blob is a content file: its size, and whether removing it frees that
// size (it has no other hard link, in an OCI layout say).
type Blob struct {
	Size  int64
	Links uint64
}

// StatBlob returns the Blob for the file at path.
func StatBlob(path string) (Blob, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return Blob{}, err
	}
	return BlobOf(fi), nil
}

// BlobOf returns the Blob for fi.
func BlobOf(fi fs.FileInfo) Blob { return Blob{Size: fi.Size(), Links: links(fi)} }

// Set is what a cache holds: its entries and every blob in its blob
// directories, named by path, whether or not an entry names it.
type Set struct {
	Entries []Entry
	Blobs   map[string]Blob
}

// Add adds o's entries and blobs to s.
func (s *Set) Add(o Set) {
	s.Entries = append(s.Entries, o.Entries...)
	if s.Blobs == nil {
		s.Blobs = map[string]Blob{}
	}
	for p, b := range o.Blobs {
		s.Blobs[p] = b
	}
}

// Policy says what Prune keeps.
type Policy struct {
	// KeepDuration keeps the entries used within it; zero keeps every
	// entry, whatever its age.
	KeepDuration time.Duration
	// KeepStorage, when positive, then removes the least recently used
	// entries until what is left takes at most this many bytes, or only
	// pinned entries are left. A blob counts at its full size even when
	// another hard link keeps it on disk.
	KeepStorage int64
	// All removes everything.
	All bool
}

// Report is what a prune removed (or, in a dry run, would remove) and
// what it kept.
type Report struct {
	// Removed are the entries removed, least recently used first.
	Removed []Removed `json:"removed"`
	// Blobs is how many blobs were removed; Freed how many bytes that and
	// the entries' files gave back to the file system (a blob another
	// hard link still names frees nothing).
	Blobs int   `json:"blobs"`
	Freed int64 `json:"freedBytes"`
	// Kept and KeptBytes are the entries left and the bytes their files
	// and blobs take.
	Kept      int   `json:"kept"`
	KeptBytes int64 `json:"keptBytes"`
	// DryRun is set when nothing was removed.
	DryRun bool `json:"dryRun,omitempty"`
}

// Removed is one entry a prune removed.
type Removed struct {
	Kind string    `json:"kind"`
	Name string    `json:"name"`
	Used time.Time `json:"lastUsed"`
	// Reason is "stale", "unused" (older than KeepDuration), "size" (over
	// KeepStorage) or "all".
	Reason string `json:"reason"`
}

// Plan returns the entries of s that pol removes at time now, least
// recently used first, with the reason for each, and the blobs that leaves
// no kept entry naming.
func Plan(s Set, pol Policy, now time.Time) (drop []Removed, blobs []string) {
	es, reasons, _, blobs := plan(s, pol, now)
	for i, e := range es {
		if reasons[i] != "" {
			drop = append(drop, removed(e, reasons[i]))
		}
	}
	return drop, blobs
}

func removed(e Entry, reason string) Removed {
	return Removed{Kind: e.Kind, Name: e.Name, Used: e.Used, Reason: reason}
}

// plan is Plan, returning the entries least recently used first with the
// reason each is removed for ("" for one it keeps) and the size of each
// one's files.
func plan(s Set, pol Policy, now time.Time) (es []Entry, reasons []string, sizes []int64, blobs []string) {
	es = slices.Clone(s.Entries)
	slices.SortStableFunc(es, func(a, b Entry) int {
		if c := a.Used.Compare(b.Used); c != 0 {
			return c
		}
		return cmp.Compare(a.Kind+"\x00"+a.Name, b.Kind+"\x00"+b.Name)
	})
	refs := map[string]int{}
	for _, e := range es {
		for _, b := range uniq(e.Blobs) {
			refs[b]++
		}
	}
	var total int64
	for p, b := range s.Blobs {
		if refs[p] > 0 {
			total += b.Size
		}
	}
	sizes = make([]int64, len(es))
	for i, e := range es {
		sizes[i] = filesSize(e.Files)
		total += sizes[i]
	}
	reasons = make([]string, len(es))
	release := func(i int, reason string) {
		reasons[i] = reason
		e := es[i]
		total -= sizes[i]
		for _, b := range uniq(e.Blobs) {
			if refs[b]--; refs[b] == 0 {
				total -= s.Blobs[b].Size
			}
		}
	}
	for i, e := range es {
		switch {
		case pol.All:
			release(i, "all")
		case e.Stale:
			release(i, "stale")
		case !e.Pinned && pol.KeepDuration > 0 && now.Sub(e.Used) > pol.KeepDuration:
			release(i, "unused")
		}
	}
	if pol.KeepStorage > 0 {
		for i, e := range es {
			if total <= pol.KeepStorage {
				break
			}
			if reasons[i] == "" && !e.Pinned {
				release(i, "size")
			}
		}
	}
	for p := range s.Blobs {
		if refs[p] <= 0 {
			blobs = append(blobs, p)
		}
	}
	slices.Sort(blobs)
	return es, reasons, sizes, blobs
}

// Prune removes what Plan chooses, unless dryRun, and reports it: each
// dropped entry's files first, then each blob no entry left names, so a
// blob is never gone while an entry still names it (an entry whose files
// could not all be removed keeps its blobs). Removing a file that is
// already gone is not an error; other errors are joined and returned with
// the report of what was removed.
func Prune(s Set, pol Policy, now time.Time, dryRun bool) (*Report, error) {
	es, reasons, sizes, blobs := plan(s, pol, now)
	r := &Report{Removed: []Removed{}, DryRun: dryRun}
	var errs []error
	remove := func(p string, b Blob) bool {
		if !dryRun {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("pruning the cache: %w", err))
				return false
			}
		}
		if b.Links <= 1 {
			r.Freed += b.Size
		}
		return true
	}
	named := map[string]bool{} // blobs an entry left in place names
	for i, e := range es {
		if reasons[i] == "" {
			continue
		}
		ok := true
		for _, f := range e.Files {
			b, err := StatBlob(f)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("pruning the cache: %w", err))
				ok = false
				continue
			}
			ok = remove(f, b) && ok
		}
		if !ok {
			reasons[i] = "" // left in place: kept, with its blobs
			for _, b := range e.Blobs {
				named[b] = true
			}
			continue
		}
		r.Removed = append(r.Removed, removed(e, reasons[i]))
	}
	gone := map[string]bool{}
	for _, p := range blobs {
		if !named[p] && remove(p, s.Blobs[p]) {
			gone[p] = true
			r.Blobs++
		}
	}
	counted := map[string]bool{}
	for i, e := range es {
		if reasons[i] != "" {
			continue
		}
		r.Kept++
		r.KeptBytes += sizes[i]
		for _, b := range e.Blobs {
			if !gone[b] && !counted[b] {
				counted[b] = true
				r.KeptBytes += s.Blobs[b].Size
			}
		}
	}
	return r, errors.Join(errs...)
}

func filesSize(files []string) int64 {
	var n int64
	for _, f := range files {
		if fi, err := os.Lstat(f); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func uniq(s []string) []string {
	if len(s) < 2 {
		return s
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
