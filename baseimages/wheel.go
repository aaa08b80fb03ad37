package baseimages

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// wheelTags are the compatibility tags of a wheel filename
// (name-version[-build]-python-abi-platform.whl), each possibly compressed
// with dots.
type wheelTags struct {
	python, abi, platform []string
}

// parseWheelName splits a wheel filename into its tag sets.
func parseWheelName(filename string) (wheelTags, error) {
	base := filename[strings.LastIndex(filename, "/")+1:]
	stem, ok := strings.CutSuffix(base, ".whl")
	if !ok {
		return wheelTags{}, fmt.Errorf("parsing wheel %q: not a .whl filename", filename)
	}
	parts := strings.Split(stem, "-")
	if len(parts) != 5 && len(parts) != 6 {
		return wheelTags{}, fmt.Errorf("parsing wheel %q: want name-version[-build]-python-abi-platform.whl", filename)
	}
	n := len(parts)
	for _, p := range parts[n-3:] {
		if p == "" {
			return wheelTags{}, fmt.Errorf("parsing wheel %q: empty tag", filename)
		}
	}
	return wheelTags{
		python:   strings.Split(parts[n-3], "."),
		abi:      strings.Split(parts[n-2], "."),
		platform: strings.Split(parts[n-1], "."),
	}, nil
}

var manylinuxRE = regexp.MustCompile(`^manylinux_(\d+)_(\d+)_(\w+)$`)

// legacyManylinux maps the PEP 513/571/599 aliases to their glibc.
var legacyManylinux = map[string]string{"manylinux1": "2.5", "manylinux2010": "2.12", "manylinux2014": "2.17"}

// glibcNeed returns the oldest glibc any of the wheel's platform tags
// accepts for linux x86_64: "" when the wheel states none (any, or a plain
// linux_x86_64 tag), ok=false when no tag fits glibc Linux x86_64 at all.
// The failing tag is returned for the error message.
func (w wheelTags) glibcNeed() (need string, ok bool, bad string) {
	best, found := "", false
	for _, t := range w.platform {
		g, fits := platformGlibc(t)
		if !fits {
			bad = t
			continue
		}
		if !found || (best != "" && (g == "" || compareGlibc(g, best) < 0)) {
			best = g
		}
		found = true
	}
	return best, found, bad
}

// platformGlibc returns the glibc one platform tag needs; fits is false
// for other systems or architectures.
func platformGlibc(tag string) (glibc string, fits bool) {
	switch tag {
	case "any", "linux_x86_64":
		return "", true
	}
	if m := manylinuxRE.FindStringSubmatch(tag); m != nil {
		return m[1] + "." + m[2], m[3] == "x86_64"
	}
	alias, arch, ok := strings.Cut(tag, "_")
	if g, known := legacyManylinux[alias]; known && ok {
		return g, arch == "x86_64"
	}
	return "", false
}

// compareGlibc orders "2.35" style versions numerically.
func compareGlibc(a, b string) int { return compareDrivers(a, b) }

// pythonFits reports whether a wheel's python/abi tags install on CPython
// target ("3.11"). It returns the Python the wheel was built for when not.
func (w wheelTags) pythonFits(target string) (bool, string) {
	maj, min, ok := strings.Cut(target, ".")
	tmin, err := strconv.Atoi(min)
	if !ok || err != nil {
		return true, ""
	}
	built := ""
	for _, py := range w.python {
		switch {
		case py == "py"+maj || py == "py"+maj+min || py == "py2.py3":
			return true, ""
		case strings.HasPrefix(py, "cp"+maj) || strings.HasPrefix(py, "py"+maj):
			m, err := strconv.Atoi(py[2+len(maj):])
			if err != nil {
				continue
			}
			for _, abi := range w.abi {
				if m == tmin || (abi == "abi3" && m <= tmin) {
					return true, ""
				}
			}
			built = fmt.Sprintf("%s.%d", maj, m)
		}
	}
	if built == "" {
		// Tags of other implementations (pp, py2) never fit CPython 3.
		built = strings.Join(w.python, ".")
	}
	return false, built
}
