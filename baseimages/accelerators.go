package baseimages

import (
	"slices"

	"github.com/hfpack/hfpack/accelerators"
)

// The accelerator table lives in package accelerators, which the manifest
// reads too; these names keep the catalog's vocabulary.
type (
	// Accelerator is a Vertex AI accelerator type (or CPU).
	Accelerator = accelerators.Accelerator
	// ComputeCapability is an NVIDIA compute capability such as 9.0.
	ComputeCapability = accelerators.ComputeCapability
)

// CPU is the accelerator name for machines without a GPU.
const CPU = accelerators.CPU

// PlatformAMD64 is the platform hfpack builds images for.
const PlatformAMD64 = accelerators.PlatformAMD64

// ParseComputeCapability parses MAJOR.MINOR, e.g. "8.6".
func ParseComputeCapability(s string) (ComputeCapability, error) {
	return accelerators.ParseComputeCapability(s)
}

// AcceleratorNames returns the sorted Vertex accelerator enum names of the
// embedded catalog plus "cpu", retired ones included (LookupAccelerator
// marks them).
func AcceleratorNames() []string { return Default().AcceleratorNames() }

// LookupAccelerator finds an accelerator of the embedded catalog by its
// Vertex enum name, or "cpu".
func LookupAccelerator(name string) (Accelerator, bool) { return Default().LookupAccelerator(name) }

// AcceleratorNames returns the sorted accelerator names of c plus "cpu".
func (c *Catalog) AcceleratorNames() []string {
	names := make([]string, 0, len(c.Accelerators)+1)
	for _, a := range c.Accelerators {
		names = append(names, a.Name)
	}
	names = append(names, CPU)
	slices.Sort(names)
	return names
}

// LookupAccelerator finds an accelerator of c by its Vertex enum name, or "cpu".
func (c *Catalog) LookupAccelerator(name string) (Accelerator, bool) {
	if name == CPU {
		return accelerators.CPUAccelerator, true
	}
	for _, a := range c.Accelerators {
		if a.Name == name {
			return a, true
		}
	}
	return Accelerator{}, false
}
