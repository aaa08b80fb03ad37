package tags

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hfpack/hfpack/python/pep440"
	"github.com/hfpack/hfpack/python/pep508"
)

// ErrInvalidWheelName is wrapped by the errors ParseWheel returns.
var ErrInvalidWheelName = errors.New("invalid wheel filename")

// Tag is one compatibility tag, e.g. cp311-cp311-manylinux_2_17_x86_64.
type Tag struct {
	Interpreter string // "cp311", "py3"
	ABI         string // "cp311", "abi3", "none"
	Platform    string // "manylinux_2_17_x86_64", "any"
}

// String returns the tag as "interpreter-abi-platform".
func (t Tag) String() string { return t.Interpreter + "-" + t.ABI + "-" + t.Platform }

// ParseTag parses a possibly compressed tag triple such as
// "py2.py3-none-any" or "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"
// into the tags it stands for, lower-cased.
func ParseTag(s string) ([]Tag, error) {
	parts := strings.Split(strings.ToLower(s), "-")
	if len(parts) != 3 {
		return nil, fmt.Errorf("invalid tag %q: want interpreter-abi-platform", s)
	}
	var sets [3][]string
	for i, p := range parts {
		sets[i] = strings.Split(p, ".")
		for _, x := range sets[i] {
			if x == "" {
				return nil, fmt.Errorf("invalid tag %q: empty component", s)
			}
		}
	}
	var out []Tag
	for _, py := range sets[0] {
		for _, abi := range sets[1] {
			for _, plat := range sets[2] {
				out = append(out, Tag{py, abi, plat})
			}
		}
	}
	return out, nil
}

// Wheel is a parsed wheel filename.
type Wheel struct {
	// Filename is the name parsed, without any directory.
	Filename string
	// Name is the PEP 503 normalised project name.
	Name string
	// Version is the project version.
	Version pep440.Version
	// BuildNumber and BuildTag hold the optional build tag ("1" or
	// "1custom"); HasBuild reports whether there is one. A higher build
	// sorts first among wheels with the same tags.
	BuildNumber uint64
	BuildTag    string
	HasBuild    bool
	// Tags are the expanded compatibility tags, in filename order.
	Tags []Tag
}

// wheelNamePart reports whether s is a wheel filename's escaped name part:
// letters, digits, '.' and '_' (the '-' of the name is written as '_').
func wheelNamePart(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_') {
			return false
		}
	}
	return s != ""
}

// ParseWheel parses a wheel filename,
// {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl.
func ParseWheel(filename string) (Wheel, error) {
	bad := func(format string, args ...any) (Wheel, error) {
		return Wheel{}, fmt.Errorf("%w %q: %s", ErrInvalidWheelName, filename, fmt.Sprintf(format, args...))
	}
	base, ok := strings.CutSuffix(filename, ".whl")
	if !ok {
		return bad("does not end in .whl")
	}
	parts := strings.Split(base, "-")
	if len(parts) != 5 && len(parts) != 6 {
		return bad("want name-version(-build)-python-abi-platform.whl")
	}
	name := parts[0]
	if !wheelNamePart(name) || strings.Contains(name, "__") || !pep508.ValidName(name) {
		return bad("invalid project name %q", name)
	}
	v, err := pep440.ParseVersion(parts[1])
	if err != nil || strings.TrimSpace(parts[1]) != parts[1] {
		return bad("invalid version %q", parts[1])
	}
	w := Wheel{Filename: filename, Name: pep508.NormalizeName(name), Version: v}
	if len(parts) == 6 {
		b := parts[2]
		i := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		n, err := strconv.ParseUint(b[:i], 10, 64)
		if i == 0 || err != nil {
			return bad("build tag %q must start with a number", b)
		}
		w.BuildNumber, w.BuildTag, w.HasBuild = n, b[i:], true
	}
	if w.Tags, err = ParseTag(strings.Join(parts[len(parts)-3:], "-")); err != nil {
		return bad("%v", err)
	}
	return w, nil
}
