package baseimages

import (
	"fmt"
	"strings"
)

// UnknownAcceleratorError reports an accelerator name the catalog lacks.
type UnknownAcceleratorError struct {
	Name  string   // the name asked for
	Known []string // the catalog's names, sorted
}

// Error names the cause and the fix.
func (e *UnknownAcceleratorError) Error() string {
	return fmt.Sprintf("unknown accelerator %q: use one of %s", e.Name, strings.Join(e.Known, ", "))
}

// RetiredAcceleratorError reports an accelerator Vertex no longer offers.
type RetiredAcceleratorError struct {
	Accelerator string // the Vertex enum name
}

// Error names the cause and the fix.
func (e *RetiredAcceleratorError) Error() string {
	return fmt.Sprintf("accelerator %s is retired on Vertex AI: choose a current GPU such as NVIDIA_TESLA_T4 or NVIDIA_L4", e.Accelerator)
}

// ArchError reports a GPU whose compute capability the locked torch build
// has no code for.
type ArchError struct {
	Accelerator string            // the Vertex enum name
	Capability  ComputeCapability // the GPU's compute capability
	// Torch is the locked version, e.g. 2.11.0+cu128.
	Torch string
	// Archs is the build's architecture list.
	Archs string
	// Dropped reports that an older build of the release had the arch.
	Dropped bool
	// Alternatives are the CUDA tags of the same release that run on the GPU.
	Alternatives []string
	// Upgrade names a newer release that runs on the GPU when no build of
	// this one does, e.g. "torch 2.7 or newer with the cu128 index".
	Upgrade string
}

// Error names the cause and the fix.
func (e *ArchError) Error() string {
	cause := e.Capability.SM() + " is not built"
	if e.Dropped {
		cause = e.Capability.SM() + " was dropped"
	}
	fix := "use another GPU"
	switch {
	case len(e.Alternatives) > 0:
		fix = fmt.Sprintf("use the %s index or another GPU", strings.Join(e.Alternatives, " or "))
	case e.Upgrade != "":
		fix = fmt.Sprintf("use %s, or another GPU", e.Upgrade)
	}
	return fmt.Sprintf("torch %s has no code for %s (compute capability %s; build has %s): %s; %s",
		e.Torch, e.Accelerator, e.Capability, e.Archs, cause, fix)
}

// DriverError reports a CUDA version that needs a newer driver than the
// assumed Vertex floor, even with minor-version compatibility. Its message
// ends with the manifest lines that fix it.
type DriverError struct {
	CUDA      CUDAVersion // the CUDA version the lock needs
	Needs     string      // the oldest driver that runs it (compatibility floor)
	Floor     string      // the assumed driver floor checked against
	Source    string      // what brought the CUDA version, e.g. "torch 2.11.0"
	Fallbacks []string    // torch pins of the same release the floor runs, oldest CUDA first
	// Index is the [[python.index]] of the newest torch build the floor
	// runs on the accelerator; nil when no build of the release does.
	Index *TorchIndex
	// MinDriver is the driver that runs CUDA natively: the value for
	// [accelerator] min-driver when the nodes are known to have it.
	MinDriver string
}

// TorchIndex is a per-CUDA torch index, as a [[python.index]] block names it.
type TorchIndex struct {
	// Torch is the release, e.g. 2.11.
	Torch string
	// CUDA is the build's tag, e.g. cu128.
	CUDA string
}

// Name is the index's name in the manifest, e.g. pytorch-cu128.
func (ix TorchIndex) Name() string { return "pytorch-" + ix.CUDA }

// URL is download.pytorch.org's index for the build.
func (ix TorchIndex) URL() string { return "https://download.pytorch.org/whl/" + ix.CUDA }

// Manifest is the [[python.index]] block that routes torch to the index.
func (ix TorchIndex) Manifest() string {
	return fmt.Sprintf("[[python.index]]\nname = %q\nurl = %q\npackages = [\"torch\"]\n", ix.Name(), ix.URL())
}

// Error names the cause and the fix: the exact manifest lines.
func (e *DriverError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s needs CUDA %s, which needs NVIDIA driver %s or newer, above the assumed Vertex driver floor %s: fix it in hfpack.toml, then run hfpack lock", e.Source, e.CUDA, e.Needs, e.Floor)
	n := 1
	if e.Index != nil {
		fmt.Fprintf(&b, "\n\n%d. lock torch %s's %s build (of %s, the builds the floor runs on this GPU): add\n\n%s", n, e.Index.Torch, e.Index.CUDA, strings.Join(e.Fallbacks, ", "), indent(e.Index.Manifest()))
		n++
	} else if len(e.Fallbacks) == 0 {
		fmt.Fprintf(&b, "\n\n%d. lock an older CUDA build of %s", n, e.Source)
		n++
	}
	if e.MinDriver != "" {
		fmt.Fprintf(&b, "\n\n%d. or, if your Vertex nodes run driver %s or newer, raise the floor (hfpack vertex-spec then asks Vertex for such nodes):\n\n%s", n, e.MinDriver, indent(fmt.Sprintf("[accelerator]\nmin-driver = %q\n", e.MinDriver)))
	}
	return strings.TrimRight(b.String(), "\n")
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n")
}

// CPUTorchError reports a CPU-only torch build locked for a GPU.
type CPUTorchError struct {
	Accelerator string // the Vertex enum name
	Torch       string // the locked version, e.g. 2.6.0+cpu
}

// Error names the cause and the fix.
func (e *CPUTorchError) Error() string {
	return fmt.Sprintf("torch %s is a CPU-only build but the accelerator is %s: lock torch from a CUDA index (e.g. the PyPI wheel or download.pytorch.org/whl/cu126), or set accelerator = \"cpu\"",
		e.Torch, e.Accelerator)
}

// UnknownTorchError reports a torch release or CUDA variant the catalog
// does not know, so its CUDA version and architectures cannot be checked.
type UnknownTorchError struct {
	Torch string // the locked version
	// Variant is the local label (cu131) when the release is known but the
	// variant is not; "" when the release itself is unknown.
	Variant string
	// Oldest and Newest are the releases the catalog spans.
	Oldest, Newest string
}

// Error names the cause and the fix.
func (e *UnknownTorchError) Error() string {
	what := fmt.Sprintf("torch %s is not in hfpack's base image catalog (it knows %s to %s)", e.Torch, e.Oldest, e.Newest)
	if e.Variant != "" {
		what = fmt.Sprintf("torch %s: the %s build is not in hfpack's base image catalog", e.Torch, e.Variant)
	}
	return what + `: upgrade hfpack, or choose the base yourself with [image] base = "REGISTRY/REPO:TAG@sha256:..." in hfpack.toml`
}

// CUDAConflictError reports locked packages built for different CUDA majors.
type CUDAConflictError struct {
	A, B         CUDAVersion // the two CUDA versions (B may carry only a major)
	FromA, FromB string      // what needs each
}

// Error names the cause and the fix.
func (e *CUDAConflictError) Error() string {
	return fmt.Sprintf("%s needs CUDA %s but %s needs CUDA %d: lock packages built for one CUDA major",
		e.FromA, e.A, e.FromB, e.B.Major)
}

// GlibcError reports a wheel whose manylinux tag needs a newer glibc than
// the base has.
type GlibcError struct {
	Wheel string // the wheel (or runtime) that needs the newer glibc
	Needs string // its glibc floor, e.g. 2.28
	Base  string // the base image reference
	Has   string // the base's glibc
}

// Error names the cause and the fix.
func (e *GlibcError) Error() string {
	return fmt.Sprintf("wheel %s needs glibc %s but base %s has glibc %s: lock an older build of the package, or choose a newer base with [image] base",
		e.Wheel, e.Needs, e.Base, e.Has)
}

// PlatformError reports a locked wheel that cannot install on the image's
// platform (linux x86_64, glibc).
type PlatformError struct {
	Wheel string // the wheel filename
	Tag   string // a platform tag that does not fit
}

// Error names the cause and the fix.
func (e *PlatformError) Error() string {
	return fmt.Sprintf("wheel %s is built for %s, not glibc Linux x86_64: re-lock for linux x86_64 (hfpack lock targets the image platform)", e.Wheel, e.Tag)
}

// PythonError reports a Python version the base cannot provide or a wheel
// built for another Python.
type PythonError struct {
	// Want is the target Python, major.minor.
	Want string
	// Have is the base's Python, or the wheel's, "" when none is available.
	Have string
	// Where says what was checked: a base reference or a wheel filename.
	Where string
	// Fix says what to change.
	Fix string
}

// Error names the cause and the fix.
func (e *PythonError) Error() string {
	have := "no Python " + e.Want
	if e.Have != "" {
		have = "Python " + e.Have
	}
	return fmt.Sprintf("target Python is %s but %s has %s: %s", e.Want, e.Where, have, e.Fix)
}

// NoImageError reports that no catalog image carries the CUDA version and
// flavour a lock needs.
type NoImageError struct {
	CUDA    CUDAVersion // the CUDA version needed
	Flavour string      // the smallest flavour needed
}

// Error names the cause and the fix.
func (e *NoImageError) Error() string {
	return fmt.Sprintf("no %s base image for CUDA %s in hfpack's catalog: choose one with [image] base = \"REGISTRY/REPO:TAG@sha256:...\", or lock another CUDA build", e.Flavour, e.CUDA)
}

// OverrideError reports an [image] base that cannot be used.
type OverrideError struct {
	Ref    string // the [image] base as written
	Reason string // what is wrong with it
	Fix    string // what to write instead
}

// Error names the cause and the fix.
func (e *OverrideError) Error() string {
	return fmt.Sprintf("[image] base %q: %s: %s", e.Ref, e.Reason, e.Fix)
}

// AcceleratorPlatformError reports an accelerator whose machines have CPUs
// of another architecture than the images hfpack builds.
type AcceleratorPlatformError struct {
	Accelerator string // the Vertex enum name
	Platform    string // its machines' platform, e.g. linux/arm64
}

// Error names the cause and the fix.
func (e *AcceleratorPlatformError) Error() string {
	return fmt.Sprintf("accelerator %s runs on %s machines but hfpack builds %s images, which would not start there: choose an x86 GPU such as NVIDIA_B200 or NVIDIA_H100_80GB", e.Accelerator, e.Platform, PlatformAMD64)
}

// UnverifiedRuntimeError reports a Python runtime whose sha256 no published
// source vouches for: hfpack never downloads an input it cannot verify.
type UnverifiedRuntimeError struct {
	Runtime PythonRuntime
}

// Error names the cause and the fix.
func (e *UnverifiedRuntimeError) Error() string {
	from := "hfpack's catalog"
	if e.Runtime.Catalog != "" {
		from = "catalog " + e.Runtime.Catalog
	}
	return fmt.Sprintf("python runtime checksum not verified: %s has no verified sha256 for %s: set its sha256 from the release's SHA256SUMS with \"sha256_verified\": true in a catalog file (HFPACK_CATALOG or [image] catalog), run make bases-refresh where the network allows, or set [image] base to an image that has Python %s",
		from, e.Runtime.URL, e.Runtime.Python)
}
