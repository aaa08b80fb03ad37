package lockfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/hfpack/hfpack/internal/fsio"
	"github.com/hfpack/hfpack/lockfile/pylock"
)

// FileHasher returns the sha256 of a file, typically remembering it by path,
// size and modification time. builder/cache.Cache is one: sharing it lets
// lock, check and build hash a multi-GB model once between them.
type FileHasher interface {
	FileSHA256(path string) (string, error)
}

// HashModelFiles returns every file under dir (symlinks followed) with its
// size and sha256, sorted by slash-separated relative path. Model
// directories are gigabytes, so hashes are remembered in cacheDir by
// absolute path, size and modification time, and a file is only hashed
// again when one of those changes. An empty cacheDir disables the cache.
// A dir that does not exist gives an error wrapping fs.ErrNotExist.
func HashModelFiles(dir, cacheDir string) ([]pylock.ModelFile, error) {
	var records string
	if cacheDir != "" {
		records = filepath.Join(cacheDir, "model-hashes")
	}
	return HashModelFilesWith(dir, fsio.NewHasher(records))
}

// HashModelFilesWith is HashModelFiles with the hashes from h.
func HashModelFilesWith(dir string, h FileHasher) ([]pylock.ModelFile, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("model directory: %w", err)
	}
	type job struct {
		rel, abs string
		info     fs.FileInfo
	}
	var jobs []job
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := os.Stat(p) // follows symlinks (Hugging Face snapshots are links into blobs/)
		if err != nil {
			return fmt.Errorf("model file: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		jobs = append(jobs, job{rel: filepath.ToSlash(rel), abs: p, info: fi})
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]pylock.ModelFile, len(jobs))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, j := range jobs {
		g.Go(func() error {
			sum, err := h.FileSHA256(j.abs)
			if err != nil {
				return err
			}
			out[i] = pylock.ModelFile{Path: j.rel, Size: j.info.Size(), SHA256: sum}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b pylock.ModelFile) int {
		switch {
		case a.Path < b.Path:
			return -1
		case a.Path > b.Path:
			return 1
		}
		return 0
	})
	return out, nil
}
