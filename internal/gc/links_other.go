//go:build !unix

package gc

import "io/fs"

// links takes every file to have one link where the count is not known.
func links(fs.FileInfo) uint64 { return 1 }
