package rangefetch

import (
	"os"
	"path/filepath"
	"syscall"
)

// allocated is the bytes of disk a file holds (-1: unknown).
func allocated(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return -1
}

// canPreallocate reports whether dir's file system has fallocate.
func canPreallocate(dir string) bool {
	f, err := os.Create(filepath.Join(dir, "probe"))
	if err != nil {
		return false
	}
	defer os.Remove(f.Name())
	defer f.Close()
	return syscall.Fallocate(int(f.Fd()), 0, 0, 4096) == nil
}
