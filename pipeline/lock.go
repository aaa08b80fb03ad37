package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/hfpack/hfpack/internal/fsio"
	"github.com/hfpack/hfpack/lockfile"
	"github.com/hfpack/hfpack/lockfile/pylock"
)

// LockResult is what Relock did.
type LockResult struct {
	// Lock is the new lock, also stored in Project.Lock.
	Lock *pylock.Lock
	// Changes are the packages whose versions moved, sorted by name.
	Changes []lockfile.Change
	// Written is false when the lock on disk already had these bytes.
	Written bool
}

// Relock resolves the manifest's requirements for the project's target,
// keeping the current lock's versions where they still satisfy, and writes
// LockPath atomically unless its bytes would not change.
func (p *Project) Relock(ctx context.Context, opts ...lockfile.Option) (*LockResult, error) {
	target := p.Target()
	l, err := lockfile.Lock(ctx, p.Manifest, target, p.Lock, opts...)
	if err != nil {
		return nil, err
	}
	data, err := pylock.Marshal(l)
	if err != nil {
		return nil, err
	}
	res := &LockResult{Lock: l, Changes: lockfile.Diff(p.Lock, l)}
	old, err := os.ReadFile(p.LockPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading %s: %w", p.RelLock(), err)
	}
	if !bytes.Equal(old, data) {
		if err := writeLock(p.LockPath, data); err != nil {
			return nil, fmt.Errorf("writing %s: %w", p.LockPath, err)
		}
		res.Written = true
	}
	p.Lock = l
	return res, nil
}

// writeLock replaces the lock atomically (a temporary file renamed into
// place: readers see the old lock or the new one) without flushing it to
// disk first, as uv and Cargo write theirs. On a shared disk that fsync
// alone took up to half a second, most of a warm lock; what a power cut
// could leave of a new lock (an empty or short file) fails to parse or to
// verify against the manifest, and lock writes it again.
func writeLock(path string, data []byte) error {
	f, err := fsio.Create(path, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Unsynced().Write(data); err != nil {
		return err
	}
	return f.Commit()
}
