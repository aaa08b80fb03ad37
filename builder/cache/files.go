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
	src, err := StatSource(path)
	if err != nil {
		return "", err
	}
	if sum, ok := c.KnownSHA256(src); ok {
		return sum, nil
	}
	h, n, err := HashFile(src.Path)
	if err != nil {
		return "", err
	}
	if n != src.Size {
		return "", fmt.Errorf("hashing %s: size changed from %d to %d while reading", src.Path, src.Size, n)
	}
	return h, c.RememberSHA256(src, h)
}

// KnownSHA256 returns the remembered sha256 of the file src names, if it
// was recorded for the file as src saw it (size, modification time, inode,
// change time); it reads no file contents.
func (c *Cache) KnownSHA256(src Source) (string, bool) {
	b, err := os.ReadFile(c.fileRecord(src.Path))
	if err != nil {
		return "", false
	}
	var r fileRecord
	if json.Unmarshal(b, &r) != nil || r.Path != src.Path || r.fileID != src.fileID || len(r.SHA256) != 64 {
		return "", false
	}
	return r.SHA256, true
}

// RememberSHA256 records sum as the sha256 of the file src names, for a
// hash the caller computed (in the same read as a layer, say). src must
// come from StatSource before the file was read, so that a change during
// the read leaves a record that no longer matches the file.
func (c *Cache) RememberSHA256(src Source, sum string) error {
	if len(sum) != 64 || !filepath.IsAbs(src.Path) {
		return fmt.Errorf("recording the sha256 of %s: invalid record", src.Path)
	}
	b, err := json.Marshal(fileRecord{Path: src.Path, fileID: src.fileID, SHA256: sum})
	if err != nil {
		return err
	}
	return writeAtomic(c.fileRecord(src.Path), b)
}

// fileRecord is where the hash record of the file at abs lives.
func (c *Cache) fileRecord(abs string) string {
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(c.dir, "files", hex.EncodeToString(sum[:])+".json")
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
