package wheelinstall

import "github.com/hfpack/hfpack/internal/fsio"

// Option configures Install.
type Option func(*options)

type options struct {
	filename  string
	installer string
	requested bool
	known     KnownHashes
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
