package lockfile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
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
	h := &jsonHasher{dir: cacheDir, known: loadHashes(cacheDir), fresh: map[string]hashEntry{}}
	files, err := HashModelFilesWith(dir, h)
	if err != nil {
		return nil, err
	}
	h.save()
	return files, nil
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

// jsonHasher remembers hashes in one JSON file in the cache directory.
type jsonHasher struct {
	dir   string
	mu    sync.Mutex
	known map[string]hashEntry
	fresh map[string]hashEntry
}

func (h *jsonHasher) FileSHA256(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	e := hashEntry{Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
	h.mu.Lock()
	k, ok := h.known[path]
	h.mu.Unlock()
	if ok && k.Size == e.Size && k.ModTime == e.ModTime && len(k.SHA256) == 64 {
		e.SHA256 = k.SHA256
	} else {
		sum, n, err := hashFile(path)
		if err != nil {
			return "", err
		}
		if n != e.Size {
			return "", fmt.Errorf("hashing %s: size changed from %d to %d while reading", path, e.Size, n)
		}
		e.SHA256 = sum
	}
	h.mu.Lock()
	h.fresh[path] = e
	h.mu.Unlock()
	return e.SHA256, nil
}

func (h *jsonHasher) save() {
	for p, e := range h.fresh {
		h.known[p] = e
	}
	saveHashes(h.dir, h.known)
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

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
