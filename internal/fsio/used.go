package fsio

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// UseEvery is how often a cache records a use of one entry: at most once
// an hour, as relatime records reads, so that a warm lock, which reads
// hundreds of entries, writes no inode when it runs again within the hour.
// A prune sees each entry's last use to within it.
const UseEvery = time.Hour

// CreateMarker records a first use in a new empty file at path, creating
// its directory if missing. Errors are ignored, as MarkUsed's are.
func CreateMarker(path string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if errors.Is(err, fs.ErrNotExist) && os.MkdirAll(filepath.Dir(path), 0o755) == nil {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	}
	if err == nil {
		f.Close()
	}
}

// MarkUsed records a use of the file at path in its modification time
// (Touch), unless one was recorded within UseEvery. It reports whether
// the file exists.
func MarkUsed(path string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	if time.Since(fi.ModTime()) >= UseEvery {
		_ = Touch(path) // a use not recorded only makes the entry look older
	}
	return true
}
