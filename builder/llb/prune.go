package llb

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	digest "github.com/opencontainers/go-digest"

	"github.com/hfpack/hfpack/internal/fsio"
	"github.com/hfpack/hfpack/internal/gc"
)

// usedDir holds an empty file per image read back from the store (Image),
// named by its manifest's digest, whose time is the image's last use.
const usedDir = "images"

// used records that a build used the image with manifest d.
func (s *Store) used(d v1.Hash) {
	if p := filepath.Join(s.dir, usedDir, d.Hex); !fsio.MarkUsed(p) {
		fsio.CreateMarker(p)
	}
}

// StoreEntries describes the export store in dir for gc.Prune, which the
// caller runs while no build uses the store (the build cache's
// cache.Lock): an "image" entry for each image a build read back, last
// used by the latest build that did, naming its manifest, config and layer
// blobs; and an "exported blob" entry for each blob no such image names
// (one a build exported but never read back), used when it was written.
// Only the store's own names (64 hex digits) are described. A missing dir
// is an empty store.
func StoreEntries(dir string) (gc.Set, error) {
	s := &Store{dir: dir}
	set := gc.Set{Blobs: map[string]gc.Blob{}}
	err := gc.ReadDir(s.blobDir(), "", func(p, _ string, fi fs.FileInfo) { // not storeTmpPrefix
		set.Blobs[p] = gc.BlobOf(fi)
	})
	if err != nil {
		return gc.Set{}, err
	}
	err = gc.ReadDir(filepath.Join(dir, usedDir), "", func(marker, hex string, fi fs.FileInfo) {
		e := gc.Entry{Kind: "image", Name: "sha256:" + hex, Used: fi.ModTime(), Files: []string{marker}}
		var err error
		e.Blobs, err = s.imageBlobs(hex)
		e.Stale = err != nil
		set.Entries = append(set.Entries, e)
	})
	if err != nil {
		return gc.Set{}, err
	}
	set.AddUnnamed(func(p string) (string, string) { return "exported blob", "sha256:" + filepath.Base(p) })
	return set, nil
}

// imageBlobs returns the paths of the blobs the image with manifest
// sha256:hex names, the manifest's own first.
func (s *Store) imageBlobs(hex string) ([]string, error) {
	d, err := v1.NewHash("sha256:" + hex)
	if err != nil {
		return nil, err
	}
	raw, err := s.verified(d)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	out := []string{filepath.Join(s.blobDir(), d.Hex)}
	for _, desc := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		p, err := s.BlobPath(digest.Digest(desc.Digest.String()))
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", d, err)
		}
		if _, err := os.Stat(p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
