package wheelinstall

// Option configures Install.
type Option func(*options)

type options struct {
	filename  string
	installer string
	requested bool
}

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
