package baseimages

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// VertexDriverFloor is the NVIDIA driver version hfpack assumes every Vertex
// AI GPU node runs at least. It is the one reviewed number behind the driver
// check; Request.DriverFloor overrides it per build.
//
// Vertex does not document its node driver. A current H100/H200 machine was
// seen with 580.159 (facts/gpus.md), but older machine families (n1 with
// T4/V100/P4) are not known to follow, and GKE, which Vertex prediction
// runs on, has long defaulted to the R535 long-term-support branch. So the
// floor is the R535 release that shipped with CUDA 12.2: every CUDA 12.x build
// passes (natively up to 12.2, through minor-version compatibility above,
// whose floor is 525), and CUDA 13 builds, which need R580, are refused with
// a fix (an older CUDA index, or a higher floor for nodes known to be newer).
const VertexDriverFloor = "535.54.03"

// CUDAVersion is a CUDA toolkit version, major and minor (12.4). It marshals
// as "12.4".
type CUDAVersion struct {
	Major, Minor int
}

// ParseCUDAVersion parses "12.4", "12.4.1" (the patch is dropped) or a torch
// local tag "cu124".
func ParseCUDAVersion(s string) (CUDAVersion, error) {
	if t, ok := strings.CutPrefix(s, "cu"); ok {
		if len(t) < 3 || len(t) > 4 {
			return CUDAVersion{}, fmt.Errorf("parsing CUDA tag %q: want cuXYZ", s)
		}
		maj, err1 := strconv.Atoi(t[:2])
		min, err2 := strconv.Atoi(t[2:])
		if err1 != nil || err2 != nil {
			return CUDAVersion{}, fmt.Errorf("parsing CUDA tag %q: want cuXYZ", s)
		}
		return CUDAVersion{Major: maj, Minor: min}, nil
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 4 {
		return CUDAVersion{}, fmt.Errorf("parsing CUDA version %q: want MAJOR.MINOR", s)
	}
	n, err := atois(parts)
	if err != nil {
		return CUDAVersion{}, fmt.Errorf("parsing CUDA version %q: %w", s, err)
	}
	return CUDAVersion{Major: n[0], Minor: n[1]}, nil
}

// String returns "12.4".
func (v CUDAVersion) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Tag returns torch's index name for v, e.g. "cu124".
func (v CUDAVersion) Tag() string { return fmt.Sprintf("cu%d%d", v.Major, v.Minor) }

// IsZero reports whether v is unset.
func (v CUDAVersion) IsZero() bool { return v == CUDAVersion{} }

// Compare orders CUDA versions: -1, 0 or +1.
func (v CUDAVersion) Compare(o CUDAVersion) int {
	if v.Major != o.Major {
		return cmp.Compare(v.Major, o.Major)
	}
	return cmp.Compare(v.Minor, o.Minor)
}

// MarshalText implements encoding.TextMarshaler.
func (v CUDAVersion) MarshalText() ([]byte, error) {
	if v.IsZero() {
		return []byte{}, nil
	}
	return []byte(v.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *CUDAVersion) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*v = CUDAVersion{}
		return nil
	}
	p, err := ParseCUDAVersion(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// Toolkit is a CUDA toolkit release and the Linux drivers it needs.
type Toolkit struct {
	// Version is the toolkit's major.minor.
	Version CUDAVersion `json:"version"`
	// MinDriver is the driver the toolkit needs natively.
	MinDriver string `json:"min_driver"`
	// CompatDriver is the minor-version-compatibility floor of the toolkit's
	// major: an older driver down to it still runs the toolkit's binaries
	// (except PTX JIT).
	CompatDriver string `json:"compat_driver"`
	// Source says where the row's facts came from.
	Source string `json:"source"`
}

// compareDrivers orders dotted driver versions numerically ("535.54.03" <
// "550.54.14"); a malformed version sorts first.
func compareDrivers(a, b string) int {
	x, errA := atois(strings.Split(a, "."))
	y, errB := atois(strings.Split(b, "."))
	if errA != nil || errB != nil {
		return cmp.Compare(boolInt(errA == nil), boolInt(errB == nil))
	}
	for i := 0; i < len(x) || i < len(y); i++ {
		var p, q int
		if i < len(x) {
			p = x[i]
		}
		if i < len(y) {
			q = y[i]
		}
		if c := cmp.Compare(p, q); c != 0 {
			return c
		}
	}
	return 0
}

// validDriver reports whether s looks like a driver version (535.54.03).
func validDriver(s string) bool {
	parts := strings.Split(s, ".")
	_, err := atois(parts)
	return err == nil && len(parts) >= 1 && len(parts) <= 3
}

func atois(parts []string) ([]int, error) {
	out := make([]int, len(parts))
	for i, p := range parts {
		if p == "" || strings.TrimLeft(p, "0123456789") != "" || len(p) > 9 {
			return nil, fmt.Errorf("%q is not a number", p)
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
