package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hfpack/hfpack/builder/layer"
	"github.com/hfpack/hfpack/internal/fsio"
	"github.com/hfpack/hfpack/internal/gc"
	"github.com/hfpack/hfpack/internal/leftover"
)

// lockName is the file in the cache directory that Open holds shared and
// Lock alone; Lock holds gateName alone while it waits, and Open passes
// through it (shared) before it takes lockName.
const (
	lockName = "lock"
	gateName = "gate"
)

// Lock holds the cache in dir alone, so that what it holds can be removed:
// it waits for every Cache open on it (in this process or another) to be
// closed, calling wait once if it has to, until ctx is done. Open waits
// until release.
// Builds that start while it waits wait for it, so overlapping builds
// cannot keep it waiting for ever; a Lock called while this process holds
// the cache open waits until ctx is done.
func Lock(ctx context.Context, dir string, wait func()) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("locking the build cache: %w", err)
	}
	if wait != nil {
		wait = sync.OnceFunc(wait)
	}
	const poll = 200 * time.Millisecond
	gate, err := leftover.Exclusive(ctx, filepath.Join(dir, gateName), poll, wait) // another prune's
	if err != nil {
		return nil, err
	}
	defer gate()
	return leftover.Exclusive(ctx, filepath.Join(dir, lockName), poll, wait)
}

// Entries describes the cache in dir for gc.Prune, which the caller runs
// under Lock:
//   - "layer": a stored layer, last used when a build found it; it names
//     its blob;
//   - "weights record": the record of a layer regenerated from local files (the
//     model's weights), stale once one of those files changed;
//   - "base file list": the remembered file list of a base image layer;
//   - "file hash record": a file's remembered sha256, kept until the file
//     changes (it saves reading the file again; it takes a few hundred
//     bytes).
//
// Its blobs are every layer blob, whether or not an entry names it. A
// missing dir is an empty cache.
func Entries(dir string) (gc.Set, error) {
	set := gc.Set{Blobs: map[string]gc.Blob{}}
	blobDir := filepath.Join(dir, "blobs", "sha256")
	if err := gc.ReadDir(blobDir, "", func(p, _ string, fi fs.FileInfo) {
		set.Blobs[p] = gc.BlobOf(fi)
	}); err != nil {
		return gc.Set{}, err
	}
	err := gc.ReadDir(filepath.Join(dir, "layers"), ".json", func(p, _ string, fi fs.FileInfo) {
		e := gc.Entry{Kind: "layer", Name: strings.TrimSuffix(filepath.Base(p), ".json"), Used: fi.ModTime(), Files: []string{p}}
		var d layer.Descriptor
		b, err := os.ReadFile(p)
		if err != nil || json.Unmarshal(b, &d) != nil || d.Digest == (v1.Hash{}) {
			e.Stale = true
		} else {
			blob := layer.BlobPath(filepath.Join(dir, "blobs"), d.Digest)
			_, ok := set.Blobs[blob]
			e.Blobs, e.Stale = []string{blob}, !ok
		}
		set.Entries = append(set.Entries, e)
	})
	if err != nil {
		return gc.Set{}, err
	}
	err = gc.ReadDir(filepath.Join(dir, "refs"), ".json", func(p, _ string, fi fs.FileInfo) {
		e := gc.Entry{Kind: "weights record", Name: strings.TrimSuffix(filepath.Base(p), ".json"), Used: fi.ModTime(), Files: []string{p}}
		var r refEntry
		b, err := os.ReadFile(p)
		e.Stale = err != nil || json.Unmarshal(b, &r) != nil || len(r.Sources) == 0
		for _, s := range r.Sources {
			e.Stale = e.Stale || !s.Unchanged()
		}
		set.Entries = append(set.Entries, e)
	})
	if err != nil {
		return gc.Set{}, err
	}
	err = gc.ReadDir(filepath.Join(dir, "basefiles"), ".json", func(p, _ string, fi fs.FileInfo) {
		set.Entries = append(set.Entries, gc.Entry{Kind: "base file list", Name: strings.TrimSuffix(filepath.Base(p), ".json"), Used: fi.ModTime(), Files: []string{p}})
	})
	if err != nil {
		return gc.Set{}, err
	}
	records, err := HashRecords(filepath.Join(dir, "files"))
	if err != nil {
		return gc.Set{}, err
	}
	set.Add(records)
	return set, nil
}

// HashRecords describes a directory of fsio.Hasher records for gc: each
// is a "file hash record" entry, pinned while its file is unchanged and stale
// after.
func HashRecords(dir string) (gc.Set, error) {
	var set gc.Set
	err := gc.ReadDir(dir, ".json", func(p, _ string, fi fs.FileInfo) {
		e := gc.Entry{Kind: "file hash record", Name: filepath.Base(p), Used: fi.ModTime(), Files: []string{p}, Pinned: true}
		if src, err := fsio.ReadRecord(p); err != nil {
			e.Stale = true
		} else {
			e.Name, e.Stale = src.Path, !src.Unchanged()
		}
		set.Entries = append(set.Entries, e)
	})
	return set, err
}
