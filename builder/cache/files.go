package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

type fileRecord struct {
	Path string `json:"path"`
	fileID
	SHA256 string `json:"sha256"`
}

// FileSHA256 returns the hex sha256 of the file at path. The result is
// remembered by absolute path, size, modification time, inode and change
// time, so an unchanged file is read once; touching, rewriting or replacing
// it rehashes it, even when its size and modification time are kept.
func (c *Cache) FileSHA256(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	rec := filepath.Join(c.dir, "files", hex.EncodeToString(sum[:])+".json")
	if b, err := os.ReadFile(rec); err == nil {
		var r fileRecord
		if json.Unmarshal(b, &r) == nil && r.Path == abs && r.fileID == idOf(fi) && len(r.SHA256) == 64 {
			return r.SHA256, nil
		}
	}
	h, n, err := HashFile(abs)
	if err != nil {
		return "", err
	}
	if n != fi.Size() {
		return "", fmt.Errorf("hashing %s: size changed from %d to %d while reading", abs, fi.Size(), n)
	}
	b, err := json.Marshal(fileRecord{Path: abs, fileID: idOf(fi), SHA256: h})
	if err != nil {
		return "", err
	}
	if err := writeAtomic(rec, b); err != nil {
		return "", err
	}
	return h, nil
}

// HashFile returns the hex sha256 and length of the file at path.
func HashFile(path string) (string, int64, error) {
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
