package wheelinstall

import (
	"errors"
	"os"
	"sync"

	"github.com/hfpack/hfpack/internal/fsio"
)

// Option configures Install.
type Option func(*options)

type options struct {
	filename  string
	installer string
	requested bool
	known     KnownHashes
	files     *Files
}

// KnownHashes remembers files' sha256 by path, size, modification time,
// inode and change time (builder/cache.Cache does).
type KnownHashes interface {
	KnownSHA256(src fsio.Source) (string, bool)
	RememberSHA256(src fsio.Source, sum string) error
}

// WithKnownHashes lets Install take a wheel's sha256 from k when k knows it
// for the file as opened (same size, times and inode: unchanged since it
// was hashed), instead of reading the whole wheel once more to hash it; a
// hash Install computes is recorded in k. A build checks each wheel once
// (the preflight's install), not once per install.
func WithKnownHashes(k KnownHashes) Option { return func(o *options) { o.known = k } }

// WithFilename gives the wheel's original file name
// ("torch-2.5.1-cp311-cp311-linux_x86_64.whl") when wheelPath is a cache
// path. It names the wheel in errors, and the project name it carries must
// match the wheel's .dist-info. Default: the base name of wheelPath (checked
// in the same way when it is a wheel file name).
func WithFilename(name string) Option { return func(o *options) { o.filename = name } }

// WithInstaller sets the single line written to the INSTALLER file.
// Default: "hfpack".
func WithInstaller(name string) Option { return func(o *options) { o.installer = name } }

// WithRequested writes an empty REQUESTED file into the .dist-info, marking
// the distribution as one the user asked for rather than a dependency, as
// pip and uv do for direct requirements. Default: not written.
func WithRequested() Option { return func(o *options) { o.requested = true } }

// WithFiles keeps the wheel file Install opened and verified open in fs,
// and the tree's entries read its members from it: one open file per
// wheel instead of one per member read, and the members come from the
// very file whose sha256 was checked, even if the path is replaced since.
// After fs.Close the entries can no longer be read.
func WithFiles(fs *Files) Option { return func(o *options) { o.files = fs } }

// Files holds the wheel files Install kept open (WithFiles) until Close.
// The zero value is ready to use; it is safe for concurrent use.
type Files struct {
	mu     sync.Mutex
	open   []*os.File
	closed bool
}

// keep adds f to fs; it reports false when fs is closed already.
func (fs *Files) keep(f *os.File) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.closed {
		return false
	}
	fs.open = append(fs.open, f)
	return true
}

// Close closes every file fs holds. Later Installs with fs open their
// wheels as if without it.
func (fs *Files) Close() error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.closed = true
	var errs []error
	for _, f := range fs.open {
		errs = append(errs, f.Close())
	}
	fs.open = nil
	return errors.Join(errs...)
}
