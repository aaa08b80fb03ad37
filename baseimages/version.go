package baseimages

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/hfpack/hfpack/python/pep440"
)

// torchVersion is the part of a PEP 440 torch version Select needs:
// release numbers and the local label ("cu121", "cpu", "rocm6.2").
type torchVersion struct {
	major, minor, patch int
	local               string
}

// parseTorchVersion reads a PEP 440 version such as "2.4", "2.4.1",
// "2.4.1+cu121", "2.5.0rc1" or "2.6.0.dev20241001+cpu" with the project's
// PEP 440 parser; pre, post and dev segments are ignored, and at least
// MAJOR.MINOR is required.
func parseTorchVersion(s string) (torchVersion, error) {
	pv, err := pep440.ParseVersion(s)
	if err != nil {
		return torchVersion{}, fmt.Errorf("parsing version %q: %w", s, err)
	}
	r := pv.Release()
	if len(r) < 2 {
		return torchVersion{}, fmt.Errorf("parsing version %q: want MAJOR.MINOR[.PATCH]", s)
	}
	r = append(r, 0)
	return torchVersion{major: int(r[0]), minor: int(r[1]), patch: int(r[2]), local: pv.Local()}, nil
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
		return cmp.Compare(x.major, y.major)
	}
	return cmp.Compare(x.minor, y.minor)
}
