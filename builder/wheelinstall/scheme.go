package wheelinstall

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/hfpack/hfpack/builder/tree"
)

// Scheme says where the parts of a wheel go in the image. Directories are
// slash-separated and relative to the layer root ("usr/local/bin"), as the
// tree package wants them.
type Scheme struct {
	// Purelib and Platlib are the site-packages directories for pure and
	// platform-specific code ("usr/local/lib/python3.11/site-packages").
	Purelib, Platlib string
	// Scripts receives .data/scripts and the entry-point wrappers ("usr/local/bin").
	Scripts string
	// Data receives .data/data ("usr/local").
	Data string
	// Include is the interpreter's include directory
	// ("usr/local/include/python3.11"). A wheel's .data/headers go to
	// Include/<Name>, with Name from the wheel's METADATA, as pip does.
	Include string
	// Interpreter is the absolute path of the image's Python, written into
	// script shebangs ("/usr/local/bin/python3.11").
	Interpreter string
	// PythonVersion is the interpreter's major.minor ("3.11"). When set, the
	// versioned wrappers of pip and easy_install are named for it, as pip
	// names them (pip, pip3, pip3.11; easy_install, easy_install-3.11),
	// whatever versions the wheel was built with. Empty: the wrappers are
	// the ones entry_points.txt lists, as pypa/installer and uv write them.
	PythonVersion string
}

// maxShebang is the longest shebang line (with "#!" and "\n") that Linux
// before 5.1 executes; distlib uses the same limit.
const maxShebang = 127

var pythonVersionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

func (s Scheme) validate() error {
	for _, d := range []struct{ name, dir string }{
		{"Purelib", s.Purelib}, {"Platlib", s.Platlib}, {"Scripts", s.Scripts},
		{"Data", s.Data}, {"Include", s.Include},
	} {
		if c, err := tree.CleanPath(d.dir); err != nil || c != d.dir {
			return fmt.Errorf("scheme %s %q: want a clean relative path such as \"usr/local\"", d.name, d.dir)
		}
	}
	if s.PythonVersion != "" && !pythonVersionRE.MatchString(s.PythonVersion) {
		return fmt.Errorf("scheme PythonVersion %q: want major.minor such as \"3.11\"", s.PythonVersion)
	}
	i := s.Interpreter
	switch {
	case !path.IsAbs(i) || path.Clean(i) != i:
		return fmt.Errorf("scheme Interpreter %q: want a clean absolute path such as \"/usr/local/bin/python3\"", i)
	case strings.ContainsAny(i, " \t\r\n\x00"):
		return fmt.Errorf("scheme Interpreter %q: a shebang cannot hold whitespace", i)
	case len(i)+3 > maxShebang:
		return fmt.Errorf("scheme Interpreter %q: longer than a %d-byte shebang allows", i, maxShebang)
	}
	return nil
}

// relPath returns the slash path of to relative to the directory from; both
// are clean relative paths.
func relPath(from, to string) string {
	f := strings.Split(from, "/")
	t := strings.Split(to, "/")
	n := 0
	for n < len(f) && n < len(t)-1 && f[n] == t[n] {
		n++
	}
	parts := make([]string, 0, len(f)-n+len(t)-n)
	for range f[n:] {
		parts = append(parts, "..")
	}
	return path.Join(append(parts, t[n:]...)...)
}
