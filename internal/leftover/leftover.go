package leftover

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Grace is how old an unheld temporary must be before Clean removes it: a
// writer holds its temporary within microseconds of creating it, so an
// unheld one older than this was left by a process that died.
const Grace = 10 * time.Second

// Hold marks path (a file or a directory) as in use by this process until
// release is called (or the process exits). Hold never blocks: a path
// created with a unique name (os.CreateTemp, os.MkdirTemp) has no other
// holder.
func Hold(path string) (release func(), err error) {
	return hold(path)
}

// Lock holds path like Hold, waiting while another process holds it: for
// a directory that several processes update in turn.
func Lock(path string) (release func(), err error) {
	return lock(path)
}

// Clean removes the entries of dir named prefix* that are older than Grace
// and held by no process, and returns the paths it removed. Errors are
// ignored: a leftover that cannot be removed now is tried again next time.
func Clean(dir, prefix string) []string {
	return clean(dir, prefix, time.Now().Add(-Grace))
}

func clean(dir, prefix string, cutoff time.Time) []string {
	if prefix == "" {
		return nil // never everything
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&os.ModeSymlink != 0 || !fi.ModTime().Before(cutoff) {
			continue
		}
		unlock, ok := tryLock(p, fi)
		if !ok {
			continue
		}
		// Removed while locked: nothing can start holding it meanwhile.
		if os.RemoveAll(p) == nil {
			removed = append(removed, p)
		}
		unlock()
	}
	return removed
}

// Share holds the lock file at path (created if missing) shared with other
// sharers, waiting while a process holds it with Exclusive: the builds
// that use a cache share it, and a prune takes it for itself.
func Share(path string) (release func(), err error) {
	return share(path)
}

// ShareContext is Share, but while a process holds path alone it calls
// wait once and tries again every poll until ctx is done.
func ShareContext(ctx context.Context, path string, poll time.Duration, wait func()) (release func(), err error) {
	return pollLock(ctx, path, poll, wait, tryShare)
}

// Exclusive holds the lock file at path (created if missing) alone. While
// other processes hold it, it calls wait once and tries again every poll
// until ctx is done.
func Exclusive(ctx context.Context, path string, poll time.Duration, wait func()) (release func(), err error) {
	return pollLock(ctx, path, poll, wait, tryExclusive)
}

func pollLock(ctx context.Context, path string, poll time.Duration, wait func(), try func(string) (func(), bool, error)) (func(), error) {
	waited := false
	for {
		release, ok, err := try(path)
		if err != nil || ok {
			return release, err
		}
		if !waited && wait != nil {
			wait()
		}
		waited = true
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for the processes holding %s: %w", path, context.Cause(ctx))
		case <-t.C:
		}
	}
}
