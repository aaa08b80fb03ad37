package baseimages

import (
	"errors"
	"fmt"
	"slices"
)

// Selection is the base an image builds on and why.
type Selection struct {
	// Accelerator is the accelerator chosen for.
	Accelerator string `json:"accelerator"`
	// Base is the base image, pinned by digest.
	Base Image `json:"base"`
	// Override reports that Base came from [image] base, not the catalog.
	Override bool `json:"override,omitempty"`
	// CUDA is the CUDA version the lock needs; "" for CPU-only locks.
	CUDA string `json:"cuda,omitempty"`
	// Python is the target Python (major.minor).
	Python string `json:"python"`
	// HasPython reports that the base's own Python is the target Python.
	HasPython bool `json:"has_python"`
	// PythonPath is the interpreter the worker runs with.
	PythonPath string `json:"python_path"`
	// Runtime is the Python runtime to add; nil when the base's Python
	// matches the target.
	Runtime *PythonRuntime `json:"runtime,omitempty"`
	// Env is the environment the image config sets, sorted by name.
	Env []EnvVar `json:"env"`
	// Reasons explain each choice, in the order made.
	Reasons []string `json:"reasons"`
	// Warnings are problems that do not stop the build.
	Warnings []string `json:"warnings,omitempty"`
}

// EnvVar is one environment variable of the image config.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Standard paths of the image environment. Vertex mounts the host driver
// under /usr/local/nvidia.
const (
	stdPath       = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	nvidiaBin     = "/usr/local/nvidia/bin"
	cudaBin       = "/usr/local/cuda/bin"
	nvidiaLibPath = "/usr/local/nvidia/lib:/usr/local/nvidia/lib64"
)

// Select chooses the base image for req on the catalog cat (nil means
// Default). It fails, with every problem found joined, when the lock cannot
// run on the accelerator; each error is one of this package's error types.
func Select(cat *Catalog, req Request) (Selection, error) {
	if cat == nil {
		cat = Default()
	}
	s := &selector{cat: cat, req: req, floor: req.DriverFloor}
	if s.floor == "" {
		s.floor = VertexDriverFloor
	}
	s.run()
	if len(s.errs) > 0 {
		return Selection{}, errors.Join(s.errs...)
	}
	return s.out, nil
}

// selector carries one Select call's state.
type selector struct {
	cat          *Catalog
	req          Request
	floor        string
	acc          Accelerator
	need         cudaNeed
	out          Selection
	errs         []error
	compat       bool
	overridePath string
}

func (s *selector) reason(format string, args ...any) {
	s.out.Reasons = append(s.out.Reasons, fmt.Sprintf(format, args...))
}

func (s *selector) warn(format string, args ...any) {
	s.out.Warnings = append(s.out.Warnings, fmt.Sprintf(format, args...))
}

func (s *selector) fail(err error) { s.errs = append(s.errs, err) }

func (s *selector) run() {
	s.out.Accelerator, s.out.Python = s.req.Accelerator, s.req.Python
	if !s.accelerator() {
		return
	}
	need, err := s.cat.detectCUDA(s.req)
	s.need = need
	var unknown *UnknownTorchError
	switch {
	case errors.As(err, &unknown) && s.req.Override != "":
		s.warn("torch %s is not in hfpack's catalog: its CUDA version and GPU architectures could not be checked against %s", unknown.Torch, s.acc.Name)
	case err != nil:
		s.fail(err)
		return
	}
	s.checkTorch()
	needs := s.wheelNeeds()
	if s.req.Override != "" {
		s.override(needs)
	} else {
		s.catalogBase(needs)
	}
	if len(s.errs) == 0 {
		s.python()
		s.env()
	}
	if len(s.errs) == 0 {
		s.mirrors()
	}
}

// accelerator resolves and vets the accelerator.
func (s *selector) accelerator() bool {
	acc, ok := s.cat.LookupAccelerator(s.req.Accelerator)
	if !ok {
		s.fail(&UnknownAcceleratorError{Name: s.req.Accelerator, Known: s.cat.AcceleratorNames()})
		return false
	}
	if acc.Retired {
		s.fail(&RetiredAcceleratorError{Accelerator: acc.Name})
		return false
	}
	if acc.OCIPlatform() != PlatformAMD64 {
		s.fail(&AcceleratorPlatformError{Accelerator: acc.Name, Platform: acc.OCIPlatform()})
		return false
	}
	s.acc = acc
	if acc.IsGPU() {
		s.reason("accelerator %s: %s GPU, compute capability %s (%s)", acc.Name, acc.Arch, acc.ComputeCapability, acc.ComputeCapability.SM())
		if s.req.AcceleratorCount > 1 {
			s.reason("%d GPUs per replica: NVIDIA_VISIBLE_DEVICES=all exposes every one", s.req.AcceleratorCount)
		}
	} else {
		s.reason("accelerator cpu: no GPU")
	}
	return true
}

// checkTorch checks the locked torch build against the accelerator.
func (s *selector) checkTorch() {
	t := s.need.torch
	if t == nil || t.release == nil {
		return
	}
	if t.note != "" {
		s.reason("%s", t.note)
	}
	gpu := s.acc.IsGPU()
	switch {
	case t.cpu && gpu:
		s.fail(&CPUTorchError{Accelerator: s.acc.Name, Torch: t.version})
	case t.cpu:
		s.reason("torch %s is the CPU build", t.version)
	case !gpu:
		s.warn("torch %s is a CUDA %s build but the accelerator is cpu: its CUDA libraries add several GB that are never used; lock torch==%s+cpu from https://download.pytorch.org/whl/cpu", t.version, t.cuda, t.parsed.public())
	case t.variant != nil && !t.variant.Runs(s.acc.ComputeCapability):
		s.fail(s.archError(t))
	case t.variant != nil:
		if t.parsed.local == "" {
			s.reason("torch %s from PyPI is the CUDA %s build (the PyPI default of torch %s is %s)", t.version, t.cuda, t.release.Release, t.release.PyPIDefault.Tag())
		}
		s.reason("torch %s (CUDA %s build) has code for %s: %s", t.version, t.cuda, s.acc.ComputeCapability.SM(), t.variant.ArchList())
	}
}

// archError explains which builds would run on the accelerator instead.
func (s *selector) archError(t *torchPin) *ArchError {
	cc := s.acc.ComputeCapability
	e := &ArchError{Accelerator: s.acc.Name, Capability: cc, Torch: t.version, Archs: t.variant.ArchList()}
	for _, v := range t.release.Variants {
		if !v.Runs(cc) {
			continue
		}
		if v.CUDA.Compare(t.cuda) < 0 {
			e.Dropped = true
		}
		if s.driverOK(v.CUDA) {
			e.Alternatives = append(e.Alternatives, v.CUDA.Tag())
		}
	}
	if len(e.Alternatives) == 0 {
		for _, r := range s.cat.Torch {
			if i := slices.IndexFunc(r.Variants, func(v TorchVariant) bool { return v.Runs(cc) && s.driverOK(v.CUDA) }); i >= 0 && compareRelease(r.Release, t.release.Release) > 0 {
				e.Upgrade = fmt.Sprintf("torch %s or newer with the %s index", r.Release, r.Variants[i].CUDA.Tag())
				break
			}
		}
	}
	return e
}

// driverOK reports whether the driver floor runs CUDA v, natively or
// through minor-version compatibility.
func (s *selector) driverOK(v CUDAVersion) bool {
	tk, ok := s.cat.Toolkit(v)
	return ok && compareDrivers(s.floor, tk.CompatDriver) >= 0
}
