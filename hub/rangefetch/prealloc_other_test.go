//go:build !linux

package rangefetch

import "os"

func allocated(os.FileInfo) int64 { return -1 }

func canPreallocate(string) bool { return false }
