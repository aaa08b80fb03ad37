package builder

import (
	"fmt"
	"path"
	"runtime"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/builder/wheelinstall"
)

// InstallWheel is a WheelInstaller: wheelinstall.Install with the scheme
// SchemeFor(base), as the default installer installs each wheel. It checks
// the wheel's sha256 before reading it.
func InstallWheel(t *tree.Tree, w WheelRef, base Base) error {
	_, err := wheelinstall.Install(t, w.Source, w.SHA256, SchemeFor(base), wheelOptions(w, nil, nil)...)
	return err
}

// installWheels is the default installer. It installs ws into t in order,
// as InstallWheel does each, taking a wheel's sha256 from the cache's
// file-hash records when they know it for the file as it is (the
// preflight's CheckWheels hashed it) and keeping each wheel open in files,
// when not nil, for the reads of its members:
// the wheels are read and checked on all cores at once, then added to t
// one after another, so the result and the first error are those of
// installing them in turn.
func installWheels(t *tree.Tree, ws []WheelRef, base Base, c *cache.Cache, files *wheelinstall.Files) error {
	prepared, errs := prepareWheels(ws, SchemeFor(base), func(w WheelRef) []wheelinstall.Option { return wheelOptions(w, c, files) })
	for i, w := range ws {
		if errs[i] != nil {
			return fmt.Errorf("installing %s: %w", w.Filename, errs[i])
		}
		if _, err := prepared[i].Commit(t); err != nil {
			return fmt.Errorf("installing %s: %w", w.Filename, err)
		}
	}
	return nil
}

// prepareWheels runs wheelinstall.Prepare on each of ws, on all cores at
// once; the i-th result, or error, is ws[i]'s.
func prepareWheels(ws []WheelRef, s wheelinstall.Scheme, opts func(WheelRef) []wheelinstall.Option) ([]*wheelinstall.Prepared, []error) {
	prepared := make([]*wheelinstall.Prepared, len(ws))
	errs := make([]error, len(ws))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, w := range ws {
		g.Go(func() error {
			prepared[i], errs[i] = wheelinstall.Prepare(w.Source, w.SHA256, s, opts(w)...)
			return nil
		})
	}
	g.Wait()
	return prepared, errs
}

func wheelOptions(w WheelRef, c *cache.Cache, files *wheelinstall.Files) []wheelinstall.Option {
	opts := []wheelinstall.Option{wheelinstall.WithFilename(w.Filename)}
	if c != nil {
		opts = append(opts, wheelinstall.WithKnownHashes(c))
	}
	if files != nil {
		opts = append(opts, wheelinstall.WithFiles(files))
	}
	return opts
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
