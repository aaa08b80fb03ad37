package builder

import (
	"path"
	"strings"

	"github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/builder/wheelinstall"
)

// InstallWheel is the default WheelInstaller: wheelinstall.Install with the
// scheme SchemeFor(base). It checks the wheel's sha256 before reading it.
func InstallWheel(t *tree.Tree, w WheelRef, base Base) error {
	return installWheel(t, w, base, nil, nil)
}

// installWheel is InstallWheel taking the wheel's sha256 from the cache's
// file-hash records when they know it for the file as it is (the
// preflight's CheckWheels hashed it), and recording it otherwise; with
// files, the wheel stays open there for the reads of its members.
func installWheel(t *tree.Tree, w WheelRef, base Base, c *cache.Cache, files *wheelinstall.Files) error {
	opts := []wheelinstall.Option{wheelinstall.WithFilename(w.Filename)}
	if c != nil {
		opts = append(opts, wheelinstall.WithKnownHashes(c))
	}
	if files != nil {
		opts = append(opts, wheelinstall.WithFiles(files))
	}
	_, err := wheelinstall.Install(t, w.Source, w.SHA256, SchemeFor(base), opts...)
	return err
}

// SchemeFor derives the install scheme of a base from its interpreter and
// site-packages paths, as pip's scheme for that Python does: purelib and
// platlib are the site-packages directory; scripts, data and include go
// under the interpreter's prefix (PREFIX/bin, PREFIX,
// PREFIX/include/pythonX.Y: hfpack's runtime in /opt/hfpack/python, a
// Python in /usr/local), except for a distribution's system Python in
// /usr/bin, where they go under /usr/local as Debian's posix_local scheme
// puts them, never over the distribution's own /usr/bin (whose python3 the
// worker runs).
func SchemeFor(b Base) wheelinstall.Scheme {
	sp := strings.TrimPrefix(path.Clean(b.SitePackages), "/")
	bin := path.Dir(path.Clean(b.Python))
	prefix := strings.TrimPrefix(path.Dir(bin), "/")
	if bin == "/usr/bin" || prefix == "" || prefix == "." {
		prefix = "usr/local"
	}
	ver := path.Base(path.Dir(sp))
	if !strings.HasPrefix(ver, "python") {
		ver = "python3"
	}
	return wheelinstall.Scheme{
		Purelib:     sp,
		Platlib:     sp,
		Scripts:     path.Join(prefix, "bin"),
		Data:        prefix,
		Include:     path.Join(prefix, "include", ver),
		Interpreter: path.Clean(b.Python),
	}
}
