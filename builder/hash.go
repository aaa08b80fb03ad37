package builder

import (
	"context"
	"fmt"
	"io/fs"
	"os"

	"github.com/hfpack/hfpack/builder/cache"
)

// hasher hashes local files, through the cache when there is one.
type hasher struct {
	ctx   context.Context
	cache *cache.Cache
}

func (h hasher) sha256(p string) (string, int64, error) {
	if err := h.ctx.Err(); err != nil {
		return "", 0, err
	}
	if h.cache != nil {
		sum, err := h.cache.FileSHA256(p)
		if err != nil {
			return "", 0, err
		}
		fi, err := os.Stat(p)
		if err != nil {
			return "", 0, err
		}
		return sum, fi.Size(), nil
	}
	return cache.HashFile(p)
}

// fileRef describes the local regular file source placed at image path dst.
func (h hasher) fileRef(dst, source string, mode fs.FileMode) (FileRef, error) {
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
	sum, size, err := h.sha256(source)
	if err != nil {
		return FileRef{}, err
	}
	return FileRef{Path: p, Mode: normMode(mode, false), Size: size, SHA256: sum, Source: source}, nil
}
