package fsio

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Pending is a file being written atomically: writes go to a temporary file
// in the target's directory, Commit renames it into place and Abort removes
// it. Aborting after a Commit does nothing, so
//
//	p, err := fsio.Create(path, 0o644)
//	...
//	defer p.Abort()
//	... write ...
//	return p.Commit()
//
// never leaves a temporary file behind.
type Pending struct {
	*os.File
	path   string
	perm   fs.FileMode
	done   bool
	nosync bool
}

// Create starts writing path atomically; the file gets mode perm when
// committed (os.CreateTemp would give it 0600). The directory must exist.
// The temporary file is named TempPrefix(path) followed by random digits.
func Create(path string, perm fs.FileMode) (*Pending, error) {
	f, err := os.CreateTemp(filepath.Dir(path), TempPrefix(path)+"*")
	if err != nil {
		return nil, err
	}
	return &Pending{File: f, path: path, perm: perm}, nil
}

// TempPrefix is how the names of Create's temporary files for path begin,
// in path's directory: the prefix a writer that holds its temporaries
// (internal/leftover) cleans a killed writer's by.
func TempPrefix(path string) string { return ".tmp-" + filepath.Base(path) + "-" }

// Unsynced makes Commit rename the file without flushing it to disk first.
// It is for caches whose every read verifies the content (a blob named by
// its sha256, an entry that must decode): after a crash such a file may be
// empty or cut short, the reader finds it so and fetches it again, and an
// fsync per entry would only cost time.
func (p *Pending) Unsynced() *Pending {
	p.nosync = true
	return p
}

// Commit flushes the file to disk and renames it to its path.
func (p *Pending) Commit() error { return p.CommitAs(p.path) }

// CommitAs is Commit to another path in the same directory: for
// content-addressed files whose name is known only once written.
func (p *Pending) CommitAs(path string) error {
	if p.done {
		return errors.New("fsio: commit of a finished file")
	}
	p.done = true
	var err error
	if !p.nosync {
		err = p.File.Sync()
	}
	if cerr := p.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(p.File.Name(), p.perm)
	}
	if err == nil {
		err = os.Rename(p.File.Name(), path)
	}
	if err != nil {
		os.Remove(p.File.Name())
	}
	return err
}

// Abort discards the file; after Commit it does nothing.
func (p *Pending) Abort() {
	if p.done {
		return
	}
	p.done = true
	p.File.Close()
	os.Remove(p.File.Name())
}

// WriteFile writes b to path atomically with mode perm: readers see the old
// file or the whole new one, never a part, and a failure leaves no
// temporary file.
func WriteFile(path string, b []byte, perm fs.FileMode) error {
	p, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer p.Abort()
	if _, err := p.Write(b); err != nil {
		return err
	}
	return p.Commit()
}
