package baseimages

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// cudaNeed is what the lock says about CUDA.
type cudaNeed struct {
	// version is the exact CUDA version when known (torch, or the
	// nvidia-cuda-runtime pin); major-only otherwise (minorKnown false).
	version    CUDAVersion
	minorKnown bool
	// from names the package that decided the version.
	from string
	// wheels reports that locked nvidia-* wheels bring the CUDA libraries;
	// wheelNames names them.
	wheels     bool
	wheelNames []string
	// torch is the locked torch, when any.
	torch *torchPin
}

// torchPin is the locked torch and its catalog build.
type torchPin struct {
	version string
	parsed  torchVersion
	cpu     bool
	release *TorchRelease
	variant *TorchVariant
	// cuda is the build's CUDA; zero for +cpu or unknown builds.
	cuda CUDAVersion
	// note explains a PyPI build read from the runtime pin.
	note string
}

// onnxruntimeCUDA is the CUDA major of an onnxruntime-gpu release: CUDA 12
// from 1.19 on, CUDA 11.8 before.
func onnxruntimeCUDA(v torchVersion) int {
	if v.major > 1 || v.minor >= 19 {
		return 12
	}
	return 11
}

var (
	nvidiaSuffixRE = regexp.MustCompile(`^nvidia-.+-cu(\d+)$`)
	cudaMajorRE    = regexp.MustCompile(`^(?:cupy-cuda|jax-cuda)(\d+)`)
)

// nvidiaCUDA13Names are the CUDA 13 library wheels, which dropped the -cuXY suffix.
var nvidiaCUDA13Names = []string{
	"nvidia-cublas", "nvidia-cuda-cupti", "nvidia-cuda-nvrtc", "nvidia-cuda-runtime",
	"nvidia-cudnn", "nvidia-cufft", "nvidia-cufile", "nvidia-curand", "nvidia-cusolver",
	"nvidia-cusparse", "nvidia-cusparselt", "nvidia-nccl", "nvidia-nvjitlink", "nvidia-nvshmem", "nvidia-nvtx",
}

// detectCUDA reads the CUDA version the lock needs from torch, the
// nvidia-cuda-runtime pin and other CUDA packages.
func (c *Catalog) detectCUDA(req Request) (cudaNeed, error) {
	var n cudaNeed
	var torchErr error
	majors := map[int]string{}
	var majorOrder []int
	addMajor := func(m int, from string) {
		if _, ok := majors[m]; !ok {
			majors[m] = from
			majorOrder = append(majorOrder, m)
		}
	}
	for _, p := range sortedPackages(req.Packages) {
		name := normalize(p.Name)
		if m := nvidiaSuffixRE.FindStringSubmatch(name); m != nil {
			n.wheels, n.wheelNames = true, append(n.wheelNames, p.Name)
			major, _ := strconv.Atoi(m[1])
			addMajor(major, p.Name)
		} else if slices.Contains(nvidiaCUDA13Names, name) {
			n.wheels, n.wheelNames = true, append(n.wheelNames, p.Name)
		}
		if m := cudaMajorRE.FindStringSubmatch(name); m != nil {
			major, _ := strconv.Atoi(m[1])
			addMajor(major, p.Name)
		}
		if name == "onnxruntime-gpu" {
			if v, err := parseTorchVersion(p.Version); err == nil {
				addMajor(onnxruntimeCUDA(v), p.Name+" "+p.Version)
			}
		}
	}
	if t, ok := req.lookup("torch"); ok {
		pin, err := c.pinTorch(t, req)
		var unknown *UnknownTorchError
		if err != nil && !errors.As(err, &unknown) {
			return n, err
		}
		torchErr = err
		n.torch = pin
		if !pin.cuda.IsZero() {
			n.version, n.minorKnown, n.from = pin.cuda, true, "torch "+pin.version
			addMajor(pin.cuda.Major, n.from)
		}
	}
	if rt, ok := runtimePin(req); ok {
		if v, err := ParseCUDAVersion(rt.Version); err == nil {
			addMajor(v.Major, rt.Name+" "+rt.Version)
			if !n.minorKnown {
				n.version, n.minorKnown, n.from = v, true, rt.Name+" "+rt.Version
			}
		}
	}
	if len(majorOrder) > 1 {
		a, b := majorOrder[0], majorOrder[1]
		return n, &CUDAConflictError{A: CUDAVersion{Major: a}, FromA: majors[a], B: CUDAVersion{Major: b}, FromB: majors[b]}
	}
	if !n.minorKnown && len(majorOrder) == 1 {
		n.version = CUDAVersion{Major: majorOrder[0]}
		n.from = majors[majorOrder[0]]
	}
	return n, torchErr
}

// runtimePin returns the locked nvidia-cuda-runtime wheel, whose version is
// the CUDA version of the libraries actually installed.
func runtimePin(req Request) (Package, bool) {
	for _, name := range []string{"nvidia-cuda-runtime-cu11", "nvidia-cuda-runtime-cu12", "nvidia-cuda-runtime-cu13", "nvidia-cuda-runtime"} {
		if p, ok := req.lookup(name); ok {
			return p, true
		}
	}
	return Package{}, false
}

// pinTorch resolves the locked torch against the catalog.
func (c *Catalog) pinTorch(t Package, req Request) (*torchPin, error) {
	version := t.Version
	if !strings.Contains(version, "+") && t.Wheel != "" {
		// download.pytorch.org wheels carry the local label in the filename.
		if parts := strings.Split(strings.TrimSuffix(t.Wheel, ".whl"), "-"); len(parts) >= 5 {
			version = strings.ReplaceAll(parts[1], "%2B", "+")
		}
	}
	v, err := parseTorchVersion(version)
	if err != nil {
		return nil, fmt.Errorf("locked torch: %w", err)
	}
	pin := &torchPin{version: version, parsed: v, cpu: v.local == "cpu"}
	rel, ok := c.LookupTorch(version)
	if !ok {
		return pin, &UnknownTorchError{Torch: version, Oldest: c.oldestTorch(), Newest: c.NewestTorch()}
	}
	pin.release = &rel
	switch {
	case pin.cpu:
		return pin, nil
	case v.local == "":
		pin.cuda = rel.PyPIDefault
		if rt, ok := runtimePin(req); ok {
			// The runtime wheel torch pulled in says which build PyPI served.
			if cv, err := ParseCUDAVersion(rt.Version); err == nil {
				if _, known := rel.Variant(cv); known && cv != pin.cuda {
					pin.note = fmt.Sprintf("the locked %s %s shows PyPI served torch %s built for CUDA %s (the catalog's default for %s is %s)", rt.Name, rt.Version, version, cv, rel.Release, rel.PyPIDefault)
					pin.cuda = cv
				}
			}
		}
	default:
		cv, err := ParseCUDAVersion(v.local)
		if err != nil {
			return pin, &UnknownTorchError{Torch: version, Variant: v.local, Oldest: c.oldestTorch(), Newest: c.NewestTorch()}
		}
		pin.cuda = cv
	}
	variant, ok := rel.Variant(pin.cuda)
	if !ok {
		return pin, &UnknownTorchError{Torch: version, Variant: pin.cuda.Tag(), Oldest: c.oldestTorch(), Newest: c.NewestTorch()}
	}
	pin.variant = &variant
	return pin, nil
}

func sortedPackages(ps []Package) []Package {
	out := slices.Clone(ps)
	slices.SortFunc(out, func(a, b Package) int { return strings.Compare(normalize(a.Name), normalize(b.Name)) })
	return out
}

func (c *Catalog) oldestTorch() string {
	if len(c.Torch) == 0 {
		return ""
	}
	return c.Torch[0].Release
}
