package accelerators

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// CPU is the accelerator name for machines without a GPU.
const CPU = "cpu"

// ComputeCapability is an NVIDIA compute capability such as 9.0. It
// marshals as "9.0".
type ComputeCapability struct {
	Major, Minor int
}

// ParseComputeCapability parses MAJOR.MINOR, e.g. "8.6".
func ParseComputeCapability(s string) (ComputeCapability, error) {
	maj, min, ok := strings.Cut(s, ".")
	if !ok {
		return ComputeCapability{}, fmt.Errorf("parsing compute capability %q: want MAJOR.MINOR", s)
	}
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if err1 != nil || err2 != nil || a < 0 || b < 0 || b > 9 {
		return ComputeCapability{}, fmt.Errorf("parsing compute capability %q: want MAJOR.MINOR", s)
	}
	return ComputeCapability{Major: a, Minor: b}, nil
}

// String returns "8.6".
func (c ComputeCapability) String() string { return fmt.Sprintf("%d.%d", c.Major, c.Minor) }

// SM returns the architecture name used by nvcc and torch, e.g. "sm_86".
func (c ComputeCapability) SM() string { return fmt.Sprintf("sm_%d%d", c.Major, c.Minor) }

// IsZero reports whether c is unset (CPU).
func (c ComputeCapability) IsZero() bool { return c == ComputeCapability{} }

// Compare orders compute capabilities: -1, 0 or +1.
func (c ComputeCapability) Compare(o ComputeCapability) int {
	if c.Major != o.Major {
		return cmp.Compare(c.Major, o.Major)
	}
	return cmp.Compare(c.Minor, o.Minor)
}

// MarshalText implements encoding.TextMarshaler.
func (c ComputeCapability) MarshalText() ([]byte, error) {
	if c.IsZero() {
		return []byte{}, nil
	}
	return []byte(c.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *ComputeCapability) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*c = ComputeCapability{}
		return nil
	}
	v, err := ParseComputeCapability(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Accelerator is a Vertex AI accelerator type (or CPU).
type Accelerator struct {
	// Name is the Vertex AcceleratorType enum name, e.g. NVIDIA_L4, or "cpu".
	Name string `json:"name"`
	// MachineTypes are the machine types (glob patterns) that carry it.
	MachineTypes []string `json:"machine_types"`
	// Arch is the GPU architecture family, e.g. Hopper.
	Arch string `json:"arch,omitempty"`
	// ComputeCapability is the GPU's compute capability; zero for CPU.
	ComputeCapability ComputeCapability `json:"compute_capability"`
	// Platform is the OCI platform of the machines' CPUs, linux/amd64
	// unless stated.
	Platform string `json:"platform,omitempty"`
	// MemoryGB is the memory per GPU; 0 when the catalog does not know it.
	MemoryGB int `json:"memory_gb"`
	// Retired marks accelerators Vertex no longer offers.
	Retired bool `json:"retired,omitempty"`
	// Source says where the row's facts came from.
	Source string `json:"source"`
}

// PlatformAMD64 is the platform hfpack builds images for.
const PlatformAMD64 = "linux/amd64"

// OCIPlatform returns a.Platform, defaulting to linux/amd64.
func (a Accelerator) OCIPlatform() string {
	if a.Platform == "" {
		return PlatformAMD64
	}
	return a.Platform
}

// IsGPU reports whether a is a GPU (not "cpu").
func (a Accelerator) IsGPU() bool { return a.Name != CPU }

// CPUAccelerator is the pseudo accelerator for CPU-only machines.
var CPUAccelerator = Accelerator{
	Name:         CPU,
	MachineTypes: []string{"*"},
	Source:       "hfpack: no GPU",
}
