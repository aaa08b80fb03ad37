package baseimages

import (
	"slices"
	"strings"
)

// TorchRelease is a torch minor release (2.4 covers 2.4.0 and 2.4.1) and the
// CUDA builds published for it.
type TorchRelease struct {
	// Release is major.minor, e.g. "2.4".
	Release string `json:"release"`
	// PyPIDefault is the CUDA version of the wheel on PyPI (no local version).
	PyPIDefault CUDAVersion `json:"pypi_default"`
	// Variants are the CUDA builds on download.pytorch.org/whl/cuXYZ, oldest
	// CUDA first. The +cpu build exists for every release and is not listed.
	Variants []TorchVariant `json:"variants"`
	// Source says where the row's facts came from.
	Source string `json:"source"`
}

// TorchVariant is one CUDA build of a torch release.
type TorchVariant struct {
	// CUDA is the toolkit the build links, e.g. 12.8 for +cu128.
	CUDA CUDAVersion `json:"cuda"`
	// Archs are the compute capabilities compiled as machine code (cubin).
	Archs []ComputeCapability `json:"archs"`
	// PTX reports whether PTX of the newest arch is shipped too, so newer
	// majors can JIT-compile it.
	PTX bool `json:"ptx,omitempty"`
}

// Runs reports whether the build has code for a GPU of compute capability
// cc: a cubin for the same major with an equal or lower minor, or PTX of an
// equal or older arch.
func (v TorchVariant) Runs(cc ComputeCapability) bool {
	for _, a := range v.Archs {
		if a.Major == cc.Major && a.Minor <= cc.Minor {
			return true
		}
	}
	if v.PTX && len(v.Archs) > 0 {
		return v.Archs[len(v.Archs)-1].Compare(cc) <= 0
	}
	return false
}

// ArchList returns the build's architectures as "sm_75 sm_80 ... +PTX".
func (v TorchVariant) ArchList() string {
	s := make([]string, 0, len(v.Archs)+1)
	for _, a := range v.Archs {
		s = append(s, a.SM())
	}
	if v.PTX {
		s = append(s, "+PTX")
	}
	return strings.Join(s, " ")
}

// Variant returns the build of r for CUDA version cuda.
func (r TorchRelease) Variant(cuda CUDAVersion) (TorchVariant, bool) {
	i := slices.IndexFunc(r.Variants, func(v TorchVariant) bool { return v.CUDA == cuda })
	if i < 0 {
		return TorchVariant{}, false
	}
	return r.Variants[i], true
}

// LookupTorch finds the catalog row for a torch release, given as "2.4",
// "2.4.1" or "2.4.1+cu121".
func (c *Catalog) LookupTorch(version string) (TorchRelease, bool) {
	v, err := parseTorchVersion(version)
	if err != nil {
		return TorchRelease{}, false
	}
	i := slices.IndexFunc(c.Torch, func(r TorchRelease) bool { return r.Release == v.release() })
	if i < 0 {
		return TorchRelease{}, false
	}
	return c.Torch[i], true
}
