package tags

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Target describes the interpreter and C library of the image wheels are
// installed into.
type Target struct {
	// Python is the interpreter's version, "3.11" (a full "3.11.10" is
	// accepted; only major and minor count).
	Python string
	// Implementation is the interpreter's tag prefix; only "cp" (CPython)
	// is supported. Empty means "cp".
	Implementation string
	// Glibc is the image's glibc version, "2.35". Set exactly one of Glibc
	// and Musl.
	Glibc string
	// Musl is the image's musl version, "1.2", for musllinux images.
	Musl string
	// Arch is the machine, "x86_64" or "aarch64".
	Arch string
}

// ErrInvalidTarget is wrapped by the errors Target.Supported returns.
var ErrInvalidTarget = errors.New("invalid target")

// String describes the target for messages, e.g. "CPython 3.11 manylinux_2_35_x86_64".
func (t Target) String() string {
	libc := "glibc " + t.Glibc
	if t.Musl != "" {
		libc = "musl " + t.Musl
	}
	return fmt.Sprintf("CPython %s, %s, %s", t.Python, libc, t.Arch)
}

// Supported is the ranked set of tags a Target accepts.
type Supported struct {
	target    Target
	major     int
	minor     int
	libc      [2]int
	tags      []Tag
	rank      map[Tag]int
	platforms map[string]bool
}

// Supported returns the tags the target accepts, most preferred first.
func (t Target) Supported() (*Supported, error) {
	s := &Supported{target: t}
	var err error
	if s.major, s.minor, err = majorMinor(t.Python); err != nil || s.major != 3 {
		return nil, fmt.Errorf("%w: python %q: want a version like 3.11", ErrInvalidTarget, t.Python)
	}
	if t.Implementation != "" && t.Implementation != "cp" {
		return nil, fmt.Errorf("%w: implementation %q: only CPython (cp) is supported", ErrInvalidTarget, t.Implementation)
	}
	if t.Arch == "" || strings.ContainsAny(t.Arch, "-. ") {
		return nil, fmt.Errorf("%w: arch %q: want a machine name like x86_64", ErrInvalidTarget, t.Arch)
	}
	var platforms []string
	switch {
	case t.Glibc != "" && t.Musl == "":
		major, minor, err := majorMinor(t.Glibc)
		if err != nil || major != 2 {
			return nil, fmt.Errorf("%w: glibc %q: want a version like 2.35", ErrInvalidTarget, t.Glibc)
		}
		s.libc = [2]int{major, minor}
		platforms = manylinuxPlatforms(minor, t.Arch)
	case t.Musl != "" && t.Glibc == "":
		major, minor, err := majorMinor(t.Musl)
		if err != nil || major != 1 {
			return nil, fmt.Errorf("%w: musl %q: want a version like 1.2", ErrInvalidTarget, t.Musl)
		}
		s.libc = [2]int{major, minor}
		for m := minor; m >= 0; m-- {
			platforms = append(platforms, fmt.Sprintf("musllinux_1_%d_%s", m, t.Arch))
		}
	default:
		return nil, fmt.Errorf("%w: set exactly one of glibc and musl", ErrInvalidTarget)
	}
	platforms = append(platforms, "linux_"+t.Arch)
	s.tags = cpythonTags(s.major, s.minor, platforms)
	s.rank = make(map[Tag]int, len(s.tags))
	for i, tag := range s.tags {
		if _, ok := s.rank[tag]; !ok {
			s.rank[tag] = i
		}
	}
	s.platforms = map[string]bool{"any": true}
	for _, p := range platforms {
		s.platforms[p] = true
	}
	return s, nil
}

// legacyManylinux maps glibc minor versions to the PEP 513/571/599 aliases.
var legacyManylinux = map[int]string{17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}

// manylinuxPlatforms lists manylinux_2_Y tags from the image's glibc down to
// the oldest the architecture has, each legacy alias after its version (the
// order pip's packaging.tags uses).
func manylinuxPlatforms(glibcMinor int, arch string) []string {
	oldest := 17
	if arch == "x86_64" || arch == "i686" {
		oldest = 5
	}
	var out []string
	for m := glibcMinor; m >= oldest; m-- {
		out = append(out, fmt.Sprintf("manylinux_2_%d_%s", m, arch))
		if legacy, ok := legacyManylinux[m]; ok {
			out = append(out, legacy+"_"+arch)
		}
	}
	return out
}

// cpythonTags follows packaging.tags.sys_tags for CPython: cpXY with its own
// ABI, abi3 and none per platform, abi3 of older minors, then the pure
// Python tags per platform and finally "any".
func cpythonTags(major, minor int, platforms []string) []Tag {
	cp := fmt.Sprintf("cp%d%d", major, minor)
	abi := cp
	if minor <= 7 {
		abi += "m"
	}
	var out []Tag
	add := func(interp, abi string, plats ...string) {
		for _, p := range plats {
			out = append(out, Tag{interp, abi, p})
		}
	}
	add(cp, abi, platforms...)
	add(cp, "abi3", platforms...)
	add(cp, "none", platforms...)
	for m := minor - 1; m >= 2; m-- {
		add(fmt.Sprintf("cp%d%d", major, m), "abi3", platforms...)
	}
	py := pyRange(major, minor)
	for _, interp := range py {
		add(interp, "none", platforms...)
	}
	add(cp, "none", "any")
	for _, interp := range py {
		add(interp, "none", "any")
	}
	return out
}

// pyRange is py311, py3, py310, …, py30.
func pyRange(major, minor int) []string {
	out := []string{fmt.Sprintf("py%d%d", major, minor), fmt.Sprintf("py%d", major)}
	for m := minor - 1; m >= 0; m-- {
		out = append(out, fmt.Sprintf("py%d%d", major, m))
	}
	return out
}

func majorMinor(s string) (int, int, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return 0, 0, fmt.Errorf("%q has no minor version", s)
	}
	major, err := strconv.Atoi(parts[0])
	if err != nil {
		return 0, 0, err
	}
	minor, err := strconv.Atoi(parts[1])
	if err != nil || minor < 0 || minor > 999 {
		return 0, 0, fmt.Errorf("bad minor version in %q", s)
	}
	return major, minor, nil
}

// Target returns the target s was made from.
func (s *Supported) Target() Target { return s.target }

// Tags returns the supported tags, most preferred first.
func (s *Supported) Tags() []Tag { return append([]Tag(nil), s.tags...) }

// Rank returns the position of tag in the preference order (0 is best) and
// whether the target supports it at all.
func (s *Supported) Rank(tag Tag) (int, bool) {
	r, ok := s.rank[tag]
	return r, ok
}

// Priority returns the rank of the best of w's tags and whether any fits.
func (s *Supported) Priority(w Wheel) (int, bool) {
	best, ok := -1, false
	for _, t := range w.Tags {
		if r, fits := s.rank[t]; fits && (!ok || r < best) {
			best, ok = r, true
		}
	}
	return best, ok
}

// Compatible reports whether w can be installed on the target.
func (s *Supported) Compatible(w Wheel) bool {
	_, ok := s.Priority(w)
	return ok
}

// Best returns the index of the wheel in ws to install: the one whose best
// tag ranks highest, then the highest build number, then the first. It
// returns -1 when none fits.
func (s *Supported) Best(ws []Wheel) int {
	best, bestRank := -1, 0
	for i, w := range ws {
		r, ok := s.Priority(w)
		if !ok {
			continue
		}
		if best < 0 || r < bestRank || r == bestRank && w.HasBuild && (!ws[best].HasBuild || w.BuildNumber > ws[best].BuildNumber) {
			best, bestRank = i, r
		}
	}
	return best
}
