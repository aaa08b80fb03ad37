//go:build unix

package leftover

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func hold(path string) (func(), error) { return lockHow(os.Open, path, unix.LOCK_EX|unix.LOCK_NB) }

func lock(path string) (func(), error) { return lockHow(os.Open, path, unix.LOCK_EX) }

func share(path string) (func(), error) { return lockHow(openLock, path, unix.LOCK_SH) }

func tryExclusive(path string) (func(), bool, error) { return tryHow(path, unix.LOCK_EX|unix.LOCK_NB) }

func tryShare(path string) (func(), bool, error) { return tryHow(path, unix.LOCK_SH|unix.LOCK_NB) }

func tryHow(path string, how int) (func(), bool, error) {
	f, err := openLock(path)
	if err != nil {
		return nil, false, err
	}
	err = flock(f, how)
	if errors.Is(err, unix.EWOULDBLOCK) {
		f.Close()
		return nil, false, nil
	}
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, true, nil
}

// openLock opens the lock file at path, creating it if missing.
func openLock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
}

func lockHow(open func(string) (*os.File, error), path string, how int) (func(), error) {
	f, err := open(path)
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
