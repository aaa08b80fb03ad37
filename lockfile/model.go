package lockfile

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/hfpack/hfpack/lockfile/pylock"
)

// modelHashFile is the name of the hash cache in the cache directory.
const modelHashFile = "model-hashes.json"

// hashEntry is a remembered file hash, valid while size and mtime match.
type hashEntry struct {
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtime_ns"`
	SHA256  string `json:"sha256"`
}

// HashModelFiles returns every file under dir (symlinks followed) with its
// size and sha256, sorted by slash-separated relative path. Model
// directories are gigabytes, so hashes are remembered in cacheDir by
// absolute path, size and modification time, and a file is only hashed
// again when one of those changes. An empty cacheDir disables the cache.
// A dir that does not exist gives an error wrapping fs.ErrNotExist.
func HashModelFiles(dir, cacheDir string) ([]pylock.ModelFile, error) {
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
	known := loadHashes(cacheDir)
	var mu sync.Mutex
	fresh := map[string]hashEntry{}
	out := make([]pylock.ModelFile, len(jobs))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, j := range jobs {
		g.Go(func() error {
			e := hashEntry{Size: j.info.Size(), ModTime: j.info.ModTime().UnixNano()}
			if k, ok := known[j.abs]; ok && k.Size == e.Size && k.ModTime == e.ModTime && len(k.SHA256) == 64 {
				e.SHA256 = k.SHA256
			} else {
				sum, n, err := hashFile(j.abs)
				if err != nil {
					return err
				}
				e.SHA256, e.Size = sum, n
			}
			mu.Lock()
			fresh[j.abs] = e
			mu.Unlock()
			out[i] = pylock.ModelFile{Path: j.rel, Size: e.Size, SHA256: e.SHA256}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for p, e := range fresh {
		known[p] = e
	}
	saveHashes(cacheDir, known)
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

// loadHashes reads the hash cache; a missing or unreadable one is empty.
func loadHashes(cacheDir string) map[string]hashEntry {
	m := map[string]hashEntry{}
	if cacheDir == "" {
		return m
	}
	data, err := os.ReadFile(filepath.Join(cacheDir, modelHashFile))
	if err != nil || json.Unmarshal(data, &m) != nil {
		return map[string]hashEntry{}
	}
	return m
}

// saveHashes writes the hash cache atomically. It is only an optimisation:
// a failure to write it is ignored.
func saveHashes(cacheDir string, m map[string]hashEntry) {
	if cacheDir == "" {
		return
	}
	data, err := json.Marshal(m) // map keys are sorted by encoding/json
	if err != nil {
		return
	}
	if os.MkdirAll(cacheDir, 0o755) != nil {
		return
	}
	tmp, err := os.CreateTemp(cacheDir, ".model-hashes-*")
	if err != nil {
		return
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return
	}
	if tmp.Close() == nil {
		os.Rename(tmp.Name(), filepath.Join(cacheDir, modelHashFile))
	}
}
