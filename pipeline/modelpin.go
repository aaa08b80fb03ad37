package pipeline

import (
	"os"
	"path/filepath"
	"sync/atomic"

	buildcache "github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/lockfile"
)

// A build reads each model file once. The lock pins every model file's
// sha256, and the image's layers need their own digests: both come from the
// one read that makes the layers (builder.Inputs.ModelCheck). So while
// Prepare runs, a file whose hash the build cache does not know for its
// current size, times and inode is taken to be as pinned (a changed size,
// a new or a missing file is still refused at once), and NewPlan checks it
// against the lock in the read that hashes and lays it out, before anything
// is published. `hfpack check` hashes the files itself.

// deferredModel counts the model files Prepare took to be as pinned.
type deferredModel struct {
	assumed atomic.Int64
}

// pinnedHasher is the lock verification's model hasher while Prepare runs:
// a hash the cache knows, else the pinned one for a regular file the lock
// pins (counted in d), else the file is hashed.
type pinnedHasher struct {
	c    *buildcache.Cache
	pins map[string]string // absolute path -> pinned sha256
	d    *deferredModel
}

func (h pinnedHasher) FileSHA256(path string) (string, error) {
	src, err := buildcache.StatSource(path)
	if err != nil {
		return "", err
	}
	if sum, ok := h.c.KnownSHA256(src); ok {
		return sum, nil
	}
	if sum, ok := h.pins[src.Path]; ok && isRegular(src.Path) {
		h.d.assumed.Add(1)
		return sum, nil
	}
	return h.c.FileSHA256(path)
}

// modelHasher is the hasher verifyLock checks the model in dir with: the
// build cache's records, or while Prepare runs, pinnedHasher. Close the
// cache when done.
func (p *Project) modelHasher(root, dir string) (lockfile.FileHasher, *buildcache.Cache, error) {
	c, err := FileHasher(root)
	if err != nil {
		return nil, nil, err
	}
	if p.deferModel == nil || p.Lock == nil || p.Lock.HFPack == nil {
		return c, c, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	pins := map[string]string{}
	for _, f := range p.Lock.HFPack.ModelFiles {
		pins[filepath.Join(abs, filepath.FromSlash(f.Path))] = f.SHA256
	}
	return pinnedHasher{c: c, pins: pins, d: p.deferModel}, c, nil
}

// modelCheck is the builder.Inputs.ModelCheck of a build of p: the lock's
// verification, as CheckModelPinned runs it and with its messages, on the
// hashes NewPlan computed in the read that made the model's layers.
func (p *Project) modelCheck(root, dir string) func(map[string]string) error {
	return func(sums map[string]string) error {
		c, err := FileHasher(root)
		if err != nil {
			return err
		}
		defer c.Close()
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		h := plannedHasher{c: c, sums: make(map[string]string, len(sums))}
		for rel, sum := range sums {
			h.sums[filepath.Join(abs, filepath.FromSlash(rel))] = sum
		}
		err = lockfile.Verify(p.Manifest, p.Lock, lockfile.WithLockName(p.RelLock()), lockfile.WithModelCheck(dir, h))
		if err == nil {
			p.verified = p.Lock
		}
		return err
	}
}

// plannedHasher serves the hashes NewPlan computed for the model's regular
// files; anything else (a symlink, which the lock pins by its target's
// contents) is hashed through the cache.
type plannedHasher struct {
	c    *buildcache.Cache
	sums map[string]string // absolute path -> sha256
}

func (h plannedHasher) FileSHA256(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if sum, ok := h.sums[abs]; ok && isRegular(abs) {
		return sum, nil
	}
	return h.c.FileSHA256(path)
}

// isRegular reports whether path is a regular file, not a symlink.
func isRegular(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode().IsRegular()
}
