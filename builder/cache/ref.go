package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hfpack/hfpack/builder/layer"
	"github.com/hfpack/hfpack/internal/fsio"
)

// Source is the identity of a local file a layer is regenerated from.
type Source = fsio.Source

// StatSource records the absolute path and the current size, modification
// time, inode and change time of the file at path.
func StatSource(path string) (Source, error) { return fsio.StatSource(path) }

// StatSources records the current size, modification time, inode and
// change time of paths.
// Call it before reading the files to describe the layer, so that a change
// during the read makes the entry stale.
func StatSources(paths []string) ([]Source, error) {
	out := make([]Source, len(paths))
	for i, p := range paths {
		s, err := StatSource(p)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

type refEntry struct {
	Descriptor layer.Descriptor `json:"descriptor"`
	Sources    []Source         `json:"sources"`
}

// Ref returns the descriptor recorded under key for a layer that is not
// stored but regenerated from local files, or ok false when there is none
// or any of its files changed (size, modification time, inode or change
// time) since.
func (c *Cache) Ref(key string) (d layer.Descriptor, ok bool, err error) {
	if err := checkKey(key); err != nil {
		return layer.Descriptor{}, false, err
	}
	b, err := os.ReadFile(filepath.Join(c.dir, "refs", key+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return layer.Descriptor{}, false, nil
	}
	if err != nil {
		return layer.Descriptor{}, false, err
	}
	var e refEntry
	if json.Unmarshal(b, &e) != nil {
		return layer.Descriptor{}, false, nil
	}
	for _, s := range e.Sources {
		if !s.Unchanged() {
			return layer.Descriptor{}, false, nil
		}
	}
	fsio.MarkUsed(filepath.Join(c.dir, "refs", key+".json")) // for Entries
	return e.Descriptor, true, nil
}

// PutRef records d under key for a layer regenerated from sources (from
// StatSources, taken before the files were read).
func (c *Cache) PutRef(key string, d layer.Descriptor, sources []Source) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if len(sources) == 0 {
		return fmt.Errorf("recording layer %s: no source files", key)
	}
	b, err := json.Marshal(refEntry{Descriptor: d, Sources: sources})
	if err != nil {
		return err
	}
	return fsio.WriteFile(filepath.Join(c.dir, "refs", key+".json"), b, 0o644)
}
