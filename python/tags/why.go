package tags

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	manylinuxTag = regexp.MustCompile(`^manylinux_(\d+)_(\d+)_(.+)$`)
	musllinuxTag = regexp.MustCompile(`^musllinux_(\d+)_(\d+)_(.+)$`)
	legacyTag    = regexp.MustCompile(`^(manylinux1|manylinux2010|manylinux2014)_(.+)$`)
	cpythonTag   = regexp.MustCompile(`^cp(\d)(\d+)$`)
)

var legacyGlibc = map[string]int{"manylinux1": 5, "manylinux2010": 12, "manylinux2014": 17}

// Why explains why w does not fit the target, e.g. "built for macOS" or
// "needs glibc 2.39; the image has 2.35". It returns "" for a wheel that
// fits.
func (s *Supported) Why(w Wheel) string {
	if s.Compatible(w) {
		return ""
	}
	var reasons []string
	for _, t := range w.Tags {
		if r := s.tagReason(t); !slices.Contains(reasons, r) {
			reasons = append(reasons, r)
		}
	}
	return strings.Join(reasons, "; or ")
}

func (s *Supported) tagReason(t Tag) string {
	if r := s.platformReason(t.Platform); r != "" {
		return r
	}
	if m := cpythonTag.FindStringSubmatch(t.Interpreter); m != nil {
		major, _ := strconv.Atoi(m[1])
		minor, _ := strconv.Atoi(m[2])
		switch {
		case t.ABI == "abi3" && (major != s.major || minor > s.minor):
			return fmt.Sprintf("needs CPython %d.%d or newer (%s-abi3); the image has %d.%d", major, minor, t.Interpreter, s.major, s.minor)
		case t.ABI != "abi3" && (major != s.major || minor != s.minor):
			return fmt.Sprintf("built for CPython %d.%d (%s); the image has %d.%d", major, minor, t.Interpreter, s.major, s.minor)
		}
	}
	if !strings.HasPrefix(t.Interpreter, "cp") && !strings.HasPrefix(t.Interpreter, "py") {
		return fmt.Sprintf("built for another Python implementation (%s); the image has CPython", t.Interpreter)
	}
	return fmt.Sprintf("tag %s does not match %s", t, s.target)
}

func (s *Supported) platformReason(p string) string {
	if s.platforms[p] {
		return ""
	}
	arch, onLinux := "", true
	switch {
	case strings.HasPrefix(p, "macosx_"):
		return fmt.Sprintf("built for macOS (%s); the image runs Linux", p)
	case strings.HasPrefix(p, "win"):
		return fmt.Sprintf("built for Windows (%s); the image runs Linux", p)
	case manylinuxTag.MatchString(p) || legacyTag.MatchString(p):
		var minor int
		if m := manylinuxTag.FindStringSubmatch(p); m != nil {
			minor, _ = strconv.Atoi(m[2])
			arch = m[3]
		} else {
			m := legacyTag.FindStringSubmatch(p)
			minor, arch = legacyGlibc[m[1]], m[2]
		}
		if arch == s.target.Arch {
			if s.target.Musl != "" {
				return fmt.Sprintf("built for glibc (%s); the image uses musl", p)
			}
			return fmt.Sprintf("needs glibc 2.%d or newer (%s); the image has %d.%d", minor, p, s.libc[0], s.libc[1])
		}
	case musllinuxTag.MatchString(p):
		m := musllinuxTag.FindStringSubmatch(p)
		arch = m[3]
		if arch == s.target.Arch {
			if s.target.Glibc != "" {
				return fmt.Sprintf("built for musl libc (%s); the image uses glibc", p)
			}
			return fmt.Sprintf("needs musl %s.%s or newer (%s); the image has %d.%d", m[1], m[2], p, s.libc[0], s.libc[1])
		}
	case strings.HasPrefix(p, "linux_"):
		arch = strings.TrimPrefix(p, "linux_")
	default:
		onLinux = false
	}
	if onLinux && arch != s.target.Arch {
		return fmt.Sprintf("built for %s (%s); the image is %s", arch, p, s.target.Arch)
	}
	return fmt.Sprintf("built for platform %s; the image is %s", p, s.target)
}

// WhyNone summarises why none of ws fits the target, for a release with
// wheels but none installable: the distinct reasons, most common first
// (ties in filename order), at most three. It returns "" if one fits.
func (s *Supported) WhyNone(ws []Wheel) string {
	if s.Best(ws) >= 0 {
		return ""
	}
	var reasons []string
	count := map[string]int{}
	for _, w := range ws {
		r := s.Why(w)
		if count[r] == 0 {
			reasons = append(reasons, r)
		}
		count[r]++
	}
	slices.SortStableFunc(reasons, func(a, b string) int { return count[b] - count[a] })
	more := len(reasons) - 3
	if more > 0 {
		reasons = reasons[:3]
	}
	text := strings.Join(reasons, "; ")
	if more > 0 {
		text += fmt.Sprintf("; and %d other reasons", more)
	}
	return text
}
