package pep440

import (
	"cmp"
	"errors"
	"strconv"
	"strings"
)

// ErrInvalidVersion is wrapped by the errors ParseVersion returns.
var ErrInvalidVersion = errors.New("invalid version")

// Version is a parsed PEP 440 version. The zero value is not a valid
// version; obtain one from ParseVersion or MustParseVersion. Versions are
// immutable.
type Version struct {
	epoch   uint64
	release []uint64
	preL    string // "", "a", "b" or "rc"
	preN    uint64
	hasPost bool
	postN   uint64
	hasDev  bool
	devN    uint64
	local   []localSegment
	orig    string
}

// localSegment is one dot-separated part of a local version label: numeric
// when isNum, else a lower-case alphanumeric string.
type localSegment struct {
	isNum bool
	num   uint64
	str   string
}

// MustParseVersion is ParseVersion for constants; it panics on error.
func MustParseVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

func isLocalSep(r rune) bool { return r == '.' || r == '-' || r == '_' }

func normalisePre(l string) string {
	switch l {
	case "alpha", "a":
		return "a"
	case "beta", "b":
		return "b"
	default: // c, rc, pre, preview
		return "rc"
	}
}

// IsZero reports whether v is the zero Version (never parsed).
func (v Version) IsZero() bool { return len(v.release) == 0 }

// Original returns the text v was parsed from, trimmed of white space.
func (v Version) Original() string { return v.orig }

// Epoch returns the version's epoch (0 when none is written).
func (v Version) Epoch() uint64 { return v.epoch }

// Release returns a copy of the release segment, e.g. [2 4 1] for 2.4.1.
func (v Version) Release() []uint64 { return append([]uint64(nil), v.release...) }

// Pre returns the pre-release label ("a", "b" or "rc") and number, and
// whether v has a pre-release segment.
func (v Version) Pre() (label string, n uint64, ok bool) { return v.preL, v.preN, v.preL != "" }

// Post returns the post-release number and whether v has one.
func (v Version) Post() (n uint64, ok bool) { return v.postN, v.hasPost }

// Dev returns the development-release number and whether v has one.
func (v Version) Dev() (n uint64, ok bool) { return v.devN, v.hasDev }

// Local returns the normalised local version label ("cu121" for
// 2.4.1+cu121), or "" when there is none.
func (v Version) Local() string {
	parts := make([]string, len(v.local))
	for i, s := range v.local {
		if s.isNum {
			parts[i] = strconv.FormatUint(s.num, 10)
		} else {
			parts[i] = s.str
		}
	}
	return strings.Join(parts, ".")
}

// IsPrerelease reports whether v is a pre-release or a development release
// (the PEP's definition: 1.0a1 and 1.0.dev1 both are).
func (v Version) IsPrerelease() bool { return v.preL != "" || v.hasDev }

// IsPostrelease reports whether v has a post-release segment.
func (v Version) IsPostrelease() bool { return v.hasPost }

// IsDevrelease reports whether v has a development-release segment.
func (v Version) IsDevrelease() bool { return v.hasDev }

// Public returns v without its local version label.
func (v Version) Public() Version {
	v.local = nil
	v.orig = ""
	return v
}

// BaseVersion returns the epoch and release segment of v only (1!2.0 for
// 1!2.0rc1.post2.dev3+abc).
func (v Version) BaseVersion() Version {
	return Version{epoch: v.epoch, release: v.release}
}

// String returns the canonical form of v: the normalised spelling PEP 440
// defines, e.g. "1.0rc1.post2.dev3+ubuntu.1" for "1.0-c1-2.DEV3+Ubuntu-1".
func (v Version) String() string {
	if v.IsZero() {
		return ""
	}
	var b strings.Builder
	if v.epoch != 0 {
		b.WriteString(strconv.FormatUint(v.epoch, 10))
		b.WriteByte('!')
	}
	for i, r := range v.release {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatUint(r, 10))
	}
	if v.preL != "" {
		b.WriteString(v.preL)
		b.WriteString(strconv.FormatUint(v.preN, 10))
	}
	if v.hasPost {
		b.WriteString(".post")
		b.WriteString(strconv.FormatUint(v.postN, 10))
	}
	if v.hasDev {
		b.WriteString(".dev")
		b.WriteString(strconv.FormatUint(v.devN, 10))
	}
	if len(v.local) > 0 {
		b.WriteByte('+')
		b.WriteString(v.Local())
	}
	return b.String()
}

// Equal reports whether v and w are the same version (Compare == 0), e.g.
// 1.0 and 1.0.0.
func (v Version) Equal(w Version) bool { return v.Compare(w) == 0 }

// Compare returns -1, 0 or +1 as v sorts before, equal to or after w in
// PEP 440 order. Trailing zeros in the release segment are insignificant;
// a development release sorts before pre-releases of the same release,
// which sort before the release, which sorts before its post-releases; a
// local version sorts after the same public version.
func (v Version) Compare(w Version) int {
	if c := cmp.Compare(v.epoch, w.epoch); c != 0 {
		return c
	}
	if c := compareRelease(v.release, w.release); c != 0 {
		return c
	}
	if c := cmp.Compare(v.preRank(), w.preRank()); c != 0 {
		return c
	}
	if v.preL != "" {
		if c := strings.Compare(v.preL, w.preL); c != 0 { // "a" < "b" < "rc"
			return c
		}
		if c := cmp.Compare(v.preN, w.preN); c != 0 {
			return c
		}
	}
	if c := cmpOptional(v.hasPost, v.postN, w.hasPost, w.postN, -1); c != 0 {
		return c
	}
	if c := cmpOptional(v.hasDev, v.devN, w.hasDev, w.devN, +1); c != 0 {
		return c
	}
	return compareLocal(v.local, w.local)
}

// preRank orders the pre-release position: a bare dev release (1.0.dev1)
// first, then pre-releases, then everything without a pre-release.
func (v Version) preRank() int {
	switch {
	case v.preL == "" && !v.hasPost && v.hasDev:
		return -1
	case v.preL != "":
		return 0
	default:
		return 1
	}
}

// cmpOptional compares optional numbers; absent sorts as absentSign
// (-1 before any present value, +1 after).
func cmpOptional(aOK bool, a uint64, bOK bool, b uint64, absentSign int) int {
	switch {
	case aOK && bOK:
		return cmp.Compare(a, b)
	case aOK:
		return -absentSign
	case bOK:
		return absentSign
	}
	return 0
}

func compareRelease(a, b []uint64) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y uint64
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// compareLocal orders local labels: none first; then segment by segment,
// numeric segments after alphanumeric ones, alphanumerics lexically; a
// shorter label that is a prefix of a longer one first.
func compareLocal(a, b []localSegment) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		switch {
		case x.isNum && y.isNum:
			if c := cmp.Compare(x.num, y.num); c != 0 {
				return c
			}
		case x.isNum:
			return 1
		case y.isNum:
			return -1
		default:
			if c := strings.Compare(x.str, y.str); c != 0 {
				return c
			}
		}
	}
	return cmp.Compare(len(a), len(b))
}
