//go:build !unix

package leftover

import (
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

// tryExclusive always succeeds where flock is not available: a prune there
// does not wait for running builds.
func tryExclusive(string) (func(), bool, error) { return func() {}, true, nil }

func tryShare(string) (func(), bool, error) { return func() {}, true, nil }
