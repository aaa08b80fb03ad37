//go:build unix

package leftover

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func hold(path string) (func(), error) { return lockHow(path, unix.LOCK_EX|unix.LOCK_NB) }

func lock(path string) (func(), error) { return lockHow(path, unix.LOCK_EX) }

func lockHow(path string, how int) (func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := flock(f, how); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// tryLock locks p unless a process holds it; unlock releases it.
func tryLock(p string, _ os.FileInfo) (unlock func(), ok bool) {
	f, err := os.Open(p)
	if err != nil {
		return nil, false
	}
	if err := flock(f, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	return func() { f.Close() }, true
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
