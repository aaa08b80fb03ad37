package builder

import (
	"path"
	"strings"

	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/builder/wheelinstall"
)

// InstallWheel is the default WheelInstaller: wheelinstall.Install with the
// scheme SchemeFor(base). It checks the wheel's sha256 before reading it.
func InstallWheel(t *tree.Tree, w WheelRef, base Base) error {
	_, err := wheelinstall.Install(t, w.Source, w.SHA256, SchemeFor(base), wheelinstall.WithFilename(w.Filename))
	return err
}

// SchemeFor derives the install scheme of a base from its interpreter and
// site-packages paths: purelib and platlib are the site-packages directory,
// scripts the interpreter's directory, data its parent, and include
// DATA/include/pythonX.Y (X.Y from the site-packages path).
func SchemeFor(b Base) wheelinstall.Scheme {
	sp := strings.TrimPrefix(path.Clean(b.SitePackages), "/")
	scripts := strings.TrimPrefix(path.Dir(path.Clean(b.Python)), "/")
	data := path.Dir(scripts)
	if data == "." {
		data = scripts
	}
	ver := path.Base(path.Dir(sp))
	if !strings.HasPrefix(ver, "python") {
		ver = "python3"
	}
	return wheelinstall.Scheme{
		Purelib:     sp,
		Platlib:     sp,
		Scripts:     scripts,
		Data:        data,
		Include:     path.Join(data, "include", ver),
		Interpreter: path.Clean(b.Python),
	}
}
