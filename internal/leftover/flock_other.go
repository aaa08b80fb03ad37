//go:build !unix

package leftover

import (
	"errors"
	"fmt"
	"os"
	"time"
)

func hold(string) (func(), error) { return func() {}, nil }

func lock(string) (func(), error) { return func() {}, nil }

// tryLock falls back to age where flock is not available.
func tryLock(_ string, fi os.FileInfo) (func(), bool) {
	return func() {}, time.Since(fi.ModTime()) > 24*time.Hour
}

func share(string) (func(), error) { return func() {}, nil }

// tryExclusive fails where flock is not available: nothing there could
// tell a prune that a build is using what it would remove.
func tryExclusive(path string) (func(), bool, error) {
	return nil, false, fmt.Errorf("locking %s: %w", path, errors.ErrUnsupported)
}

func tryShare(string) (func(), bool, error) { return func() {}, true, nil }
