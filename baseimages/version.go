package baseimages

import (
	"fmt"
	"strings"
)

// torchVersion is the part of a PEP 440 torch version Select needs:
// release numbers and the local label ("cu121", "cpu", "rocm6.2").
type torchVersion struct {
	major, minor, patch int
	local               string
}

// parseTorchVersion parses "2.4", "2.4.1", "2.4.1+cu121", "2.5.0rc1",
// "2.6.0.dev20241001+cpu"; pre, post and dev segments are ignored.
func parseTorchVersion(s string) (torchVersion, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	s = strings.TrimPrefix(s, "v")
	pub, local, _ := strings.Cut(s, "+")
	end := strings.IndexFunc(pub, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end >= 0 {
		pub = pub[:end]
	}
	pub = strings.TrimSuffix(pub, ".")
	parts := strings.Split(pub, ".")
	if len(parts) < 2 {
		return torchVersion{}, fmt.Errorf("parsing version %q: want MAJOR.MINOR[.PATCH]", s)
	}
	if len(parts) > 3 {
		parts = parts[:3]
	}
	n, err := atois(parts)
	if err != nil {
		return torchVersion{}, fmt.Errorf("parsing version %q: %w", s, err)
	}
	v := torchVersion{major: n[0], minor: n[1], local: local}
	if len(n) == 3 {
		v.patch = n[2]
	}
	return v, nil
}

func (v torchVersion) release() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

func (v torchVersion) public() string {
	return fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch)
}

// compareRelease orders "2.4" style releases numerically.
func compareRelease(a, b string) int {
	x, errA := parseTorchVersion(a)
	y, errB := parseTorchVersion(b)
	if errA != nil || errB != nil {
		return strings.Compare(a, b)
	}
	if x.major != y.major {
		return cmpInt(x.major, y.major)
	}
	return cmpInt(x.minor, y.minor)
}
