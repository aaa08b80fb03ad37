package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"sync"

	"github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/layer"
	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/internal/fsio"
)

// hasher hashes local files, through the cache when there is one.
type hasher struct {
	ctx      context.Context
	cache    *cache.Cache
	storeAll bool
	// planned collects the keys of layers the cache did not have and
	// hashLayer recorded while hashing their files.
	planned *sync.Map
}

// fileRef describes the local regular file source placed at image path dst,
// with its size; hashLayer hashes it.
func fileRef(dst, source string, mode fs.FileMode) (FileRef, error) {
	p, err := imagePath(dst)
	if err != nil {
		return FileRef{}, err
	}
	fi, err := os.Stat(source)
	if err != nil {
		return FileRef{}, fmt.Errorf("%w: %s: %w", ErrInvalidInputs, dst, err)
	}
	if !fi.Mode().IsRegular() {
		return FileRef{}, fmt.Errorf("%w: %s: %s is not a regular file", ErrInvalidInputs, dst, source)
	}
	return FileRef{Path: p, Mode: normMode(mode, false), Size: fi.Size(), Source: source}, nil
}

// hashLayer fills in the sha256 of each file of l, a layer of p, whose
// sizes and modes are already set. Files the cache remembers are not read.
// Otherwise, with a cache, the layer's files are read once: each file's
// sha256 and the layer itself (its tar stream, digest and diffID) come from
// the same read, and the layer is recorded in the cache under its key just
// as Build would record it, so that Build reads nothing again. Without a
// cache the files are hashed one by one.
func (h hasher) hashLayer(p *Plan, l *LayerPlan) error {
	if err := h.ctx.Err(); err != nil {
		return err
	}
	srcs := make([]cache.Source, len(l.Files))
	missing := false
	for i := range l.Files {
		f := &l.Files[i]
		if f.Linkname != "" {
			continue
		}
		src, err := cache.StatSource(f.Source)
		if err != nil {
			return fmt.Errorf("%w: /%s: %w", ErrInvalidInputs, f.Path, err)
		}
		if src.Size != f.Size {
			return fmt.Errorf("hashing /%s: %w: %s changed size while planning", f.Path, layer.ErrChanged, f.Source)
		}
		srcs[i] = src
		if h.cache != nil {
			if sum, ok := h.cache.KnownSHA256(src); ok {
				f.SHA256 = sum
				continue
			}
		}
		missing = true
	}
	if !missing {
		return nil
	}
	if h.cache == nil {
		for i := range l.Files {
			if f := &l.Files[i]; f.Linkname == "" {
				sum, n, err := fsio.SHA256(f.Source)
				if err != nil {
					return err
				}
				if n != f.Size {
					return fmt.Errorf("hashing /%s: %w: %s changed size while planning", f.Path, layer.ErrChanged, f.Source)
				}
				f.SHA256 = sum
			}
		}
		return nil
	}
	sums := make(map[string]hash.Hash, len(l.Files))
	t := tree.New()
	for _, f := range l.Files {
		if f.Linkname != "" {
			if err := t.AddSymlink(f.Path, f.Linkname); err != nil {
				return err
			}
			continue
		}
		sums[f.Path] = sha256.New()
		if err := t.AddFile(f.Path, f.Mode, f.Size, openFile(f.Source)); err != nil {
			return err
		}
	}
	record, err := h.describeLayer(p, *l, t, srcs, sums)
	if err != nil {
		return fmt.Errorf("hashing layer %s: %w", l.Name, err)
	}
	for i := range l.Files {
		f := &l.Files[i]
		if hh := sums[f.Path]; hh != nil {
			f.SHA256 = hex.EncodeToString(hh.Sum(nil))
			if err := h.cache.RememberSHA256(srcs[i], f.SHA256); err != nil {
				return err
			}
		}
	}
	key := layerKey(p, *l)
	var cached bool
	if byReference(*l, h.storeAll) {
		_, cached, _ = h.cache.Ref(key)
	} else {
		_, cached, _ = h.cache.Layer(key)
	}
	if err := record(key); err != nil {
		return err
	}
	if !cached && h.planned != nil {
		h.planned.Store(key, true)
	}
	return nil
}

// describeLayer reads the layer tree t once, the way Build would make lp:
// described only (a layer regenerated from its files) or written into the
// cache, each file's contents also hashed into sums by its path, beside the
// layer's digest. It returns the function that records the result under a
// key.
func (h hasher) describeLayer(p *Plan, lp LayerPlan, t *tree.Tree, srcs []cache.Source, sums map[string]hash.Hash) (func(key string) error, error) {
	opts := append(layerOptions(p, lp), layer.WithFileHashes(sums))
	if byReference(lp, h.storeAll) {
		var files []cache.Source
		for _, s := range srcs {
			if s.Path != "" {
				files = append(files, s)
			}
		}
		d, err := layer.Describe(h.ctx, t, opts...)
		if err != nil {
			return nil, err
		}
		return func(key string) error { return h.cache.PutRef(key, d, files) }, nil
	}
	lw, err := layer.Write(h.ctx, t, h.cache.BlobDir(), opts...)
	if err != nil {
		return nil, err
	}
	return func(key string) error { return h.cache.PutLayer(key, lw) }, nil
}
