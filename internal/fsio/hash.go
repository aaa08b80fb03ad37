package fsio

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// SHA256 returns the hex sha256 and length of the file at path, read in
// one streaming pass.
func SHA256(path string) (string, int64, error) {
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

// FileID is what a cache remembers of a file to tell whether it changed
// without reading it: size and modification time, which an edit can keep
// (a tool that restores the mtime, a copy with -p), and the inode and
// change time, which it cannot: a rewrite in place moves the change time,
// a replacement by rename changes the inode.
type FileID struct {
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtimeNs"`
	Inode   uint64 `json:"ino,omitempty"`
	Ctime   int64  `json:"ctimeNs,omitempty"`
}

// IDOf returns the FileID of fi.
func IDOf(fi os.FileInfo) FileID {
	ino, ctime := inodeCtime(fi)
	return FileID{Size: fi.Size(), ModTime: fi.ModTime().UnixNano(), Inode: ino, Ctime: ctime}
}

// Source is a local file as it was when stat'ed: its absolute path and
// FileID.
type Source struct {
	Path string `json:"path"`
	FileID
}

// StatSource records the absolute path and the current size, modification
// time, inode and change time of the file at path (symlinks followed).
func StatSource(path string) (Source, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Source{}, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return Source{}, err
	}
	return Source{Path: abs, FileID: IDOf(fi)}, nil
}

// Unchanged reports whether the file src names still has src's FileID.
func (src Source) Unchanged() bool {
	fi, err := os.Stat(src.Path)
	return err == nil && IDOf(fi) == src.FileID
}

// Hasher returns files' sha256 and remembers them in a directory of
// records, one per absolute path, valid while the file's FileID is
// unchanged. It is safe for concurrent use by goroutines and processes:
// records are written atomically, and a damaged or stale one is a miss.
type Hasher struct {
	dir string
}

// NewHasher returns a Hasher keeping its records in dir (created on first
// use); an empty dir remembers nothing.
func NewHasher(dir string) *Hasher { return &Hasher{dir: dir} }

type hashRecord struct {
	Path string `json:"path"`
	FileID
	SHA256 string `json:"sha256"`
}

// FileSHA256 returns the hex sha256 of the file at path: remembered when
// the file is unchanged since it was last hashed, read (and remembered)
// otherwise.
func (h *Hasher) FileSHA256(path string) (string, error) {
	src, err := StatSource(path)
	if err != nil {
		return "", err
	}
	if sum, ok := h.Known(src); ok {
		return sum, nil
	}
	sum, n, err := SHA256(src.Path)
	if err != nil {
		return "", err
	}
	if n != src.Size {
		return "", fmt.Errorf("hashing %s: size changed from %d to %d while reading", src.Path, src.Size, n)
	}
	return sum, h.Remember(src, sum)
}

// Known returns the remembered sha256 of the file src names, if it was
// recorded for the file as src saw it; it reads no file contents.
func (h *Hasher) Known(src Source) (string, bool) {
	if h.dir == "" {
		return "", false
	}
	b, err := os.ReadFile(h.record(src.Path))
	if err != nil {
		return "", false
	}
	var r hashRecord
	if json.Unmarshal(b, &r) != nil || r.Path != src.Path || r.FileID != src.FileID || len(r.SHA256) != 64 {
		return "", false
	}
	return r.SHA256, true
}

// Remember records sum as the sha256 of the file src names, for a hash the
// caller computed (in the same read as a layer, say). src must come from
// StatSource before the file was read, so that a change during the read
// leaves a record that no longer matches the file.
func (h *Hasher) Remember(src Source, sum string) error {
	if len(sum) != 64 || !filepath.IsAbs(src.Path) {
		return fmt.Errorf("recording the sha256 of %s: invalid record", src.Path)
	}
	if h.dir == "" {
		return nil
	}
	b, err := json.Marshal(hashRecord{Path: src.Path, FileID: src.FileID, SHA256: sum})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(h.dir, 0o755); err != nil {
		return err
	}
	return WriteFile(h.record(src.Path), b, 0o644)
}

// ReadRecord returns the file a record in a Hasher's directory (the file
// at path) remembers, as it was when hashed; a damaged record is an error.
func ReadRecord(path string) (Source, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Source{}, err
	}
	var r hashRecord
	if err := json.Unmarshal(b, &r); err != nil || r.Path == "" {
		return Source{}, fmt.Errorf("reading hash record %s: damaged", path)
	}
	return Source{Path: r.Path, FileID: r.FileID}, nil
}

// record is where the hash record of the file at abs lives.
func (h *Hasher) record(abs string) string {
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(h.dir, hex.EncodeToString(sum[:])+".json")
}
