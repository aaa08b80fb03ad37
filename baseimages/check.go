package baseimages

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
)

// Check verifies the catalog's integrity: every table sorted by its key
// without duplicates, every row sourced, every image pinned by a valid
// digest, every torch variant on a CUDA version with a toolkit row and a
// base image, every GPU accelerator with a compute capability.
func (c *Catalog) Check() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	checkSorted(&errs, "accelerators", c.Accelerators, func(a, b Accelerator) int { return strings.Compare(a.Name, b.Name) }, func(a Accelerator) string { return a.Name })
	for _, a := range c.Accelerators {
		if a.ComputeCapability.IsZero() {
			add("accelerator %s: no compute capability", a.Name)
		}
		if a.Source == "" {
			add("accelerator %s: no source", a.Name)
		}
	}

	checkSorted(&errs, "cuda", c.CUDA, func(a, b Toolkit) int { return a.Version.Compare(b.Version) }, func(t Toolkit) string { return t.Version.String() })
	for _, t := range c.CUDA {
		if !validDriver(t.MinDriver) || !validDriver(t.CompatDriver) || compareDrivers(t.CompatDriver, t.MinDriver) > 0 {
			add("cuda %s: bad drivers %q/%q", t.Version, t.MinDriver, t.CompatDriver)
		}
		if t.Source == "" {
			add("cuda %s: no source", t.Version)
		}
	}

	checkSorted(&errs, "torch", c.Torch, func(a, b TorchRelease) int { return compareRelease(a.Release, b.Release) }, func(r TorchRelease) string { return r.Release })
	for _, r := range c.Torch {
		c.checkTorch(&errs, r)
	}

	checkSorted(&errs, "images", c.Images, compareImages, func(im Image) string { return im.Repository + ":" + im.Tag })
	for _, im := range c.Images {
		c.checkImage(&errs, im)
	}

	checkSorted(&errs, "runtimes", c.Runtimes, compareRuntimes, func(r PythonRuntime) string { return r.Python + " " + r.Arch })
	for _, r := range c.Runtimes {
		checkRuntimeRow(&errs, r)
	}

	checkSorted(&errs, "system_cuda", c.SystemCUDA, func(a, b SystemCUDARule) int { return strings.Compare(a.Name, b.Name) }, func(r SystemCUDARule) string { return r.Name })
	for _, r := range c.SystemCUDA {
		if flavourRank(r.Flavour) > 3 || r.Why == "" || r.Source == "" {
			add("system_cuda %s: bad flavour %q or no reason/source", r.Name, r.Flavour)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid catalog: %w", errors.Join(errs...))
	}
	return nil
}

func (c *Catalog) checkTorch(errs *[]error, r TorchRelease) {
	add := func(format string, args ...any) { *errs = append(*errs, fmt.Errorf(format, args...)) }
	if r.Source == "" {
		add("torch %s: no source", r.Release)
	}
	if _, ok := r.Variant(r.PyPIDefault); !ok {
		add("torch %s: PyPI default %s is not one of its variants", r.Release, r.PyPIDefault)
	}
	checkSorted(errs, "torch "+r.Release+" variants", r.Variants, func(a, b TorchVariant) int { return a.CUDA.Compare(b.CUDA) }, func(v TorchVariant) string { return v.CUDA.Tag() })
	for _, v := range r.Variants {
		if _, ok := c.Toolkit(v.CUDA); !ok {
			add("torch %s+%s: CUDA %s has no toolkit row", r.Release, v.CUDA.Tag(), v.CUDA)
		}
		if !c.hasGPUImage(v.CUDA) {
			add("torch %s+%s: no base image for CUDA %s", r.Release, v.CUDA.Tag(), v.CUDA)
		}
		if len(v.Archs) == 0 {
			add("torch %s+%s: no architectures", r.Release, v.CUDA.Tag())
		}
		checkSorted(errs, "torch "+r.Release+"+"+v.CUDA.Tag()+" archs", v.Archs, ComputeCapability.Compare, ComputeCapability.String)
	}
}

func checkRuntimeRow(errs *[]error, r PythonRuntime) {
	if pythonMinor(r.Version) != r.Python || (r.Arch != ArchX86_64 && r.Arch != ArchAarch64) || !hexRE.MatchString(r.SHA256) || !strings.HasPrefix(r.URL, "https://") || !strings.HasPrefix(r.Prefix, "/") || r.Glibc == "" || r.Source == "" {
		*errs = append(*errs, fmt.Errorf("runtime %s %s: incomplete row (version, arch x86_64 or aarch64, https url, sha256, prefix, glibc and source are required)", r.Python, r.Arch))
	}
}

func (c *Catalog) checkImage(errs *[]error, im Image) {
	c.checkImageRow(errs, im)
	if im.IsGPU() && flavourRank(im.Flavour) <= 3 {
		if _, ok := c.Toolkit(im.CUDA); !ok {
			*errs = append(*errs, fmt.Errorf("image %s:%s: CUDA %s has no toolkit row", im.Repository, im.Tag, im.CUDA))
		}
	}
}

// checkImageRow checks what a row must hold by itself.
func (c *Catalog) checkImageRow(errs *[]error, im Image) {
	add := func(format string, args ...any) { *errs = append(*errs, fmt.Errorf(format, args...)) }
	name := im.Repository + ":" + im.Tag
	if !ValidDigest(im.Digest) {
		add("image %s: digest %q is not sha256:<64 hex>", name, im.Digest)
	}
	if im.Glibc == "" || im.OS == "" || im.OSVersion == "" || im.Source == "" {
		add("image %s: glibc, os, os_version and source are required", name)
	}
	if (im.Python == "") != (im.PythonPath == "") {
		add("image %s: python and python_path go together", name)
	}
	switch {
	case im.Flavour == FlavourCPU && im.IsGPU():
		add("image %s: cpu flavour with CUDA %s", name, im.CUDA)
	case im.Flavour != FlavourCPU && flavourRank(im.Flavour) > 3:
		add("image %s: unknown flavour %q", name, im.Flavour)
	case im.Flavour != FlavourCPU && !im.IsGPU():
		add("image %s: %s flavour without a CUDA version", name, im.Flavour)
	}
}

func (c *Catalog) hasGPUImage(v CUDAVersion) bool {
	for _, im := range c.Images {
		if im.CUDA == v {
			return true
		}
	}
	return false
}

func compareRuntimes(a, b PythonRuntime) int {
	return cmp.Or(compareRelease(a.Python, b.Python), strings.Compare(a.Arch, b.Arch))
}

func compareImages(a, b Image) int {
	return cmp.Or(strings.Compare(a.Repository, b.Repository), strings.Compare(a.Tag, b.Tag))
}

// checkSorted reports rows out of order or duplicated under cmp.
func checkSorted[T any](errs *[]error, table string, rows []T, cmp func(a, b T) int, key func(T) string) {
	for i := 1; i < len(rows); i++ {
		switch c := cmp(rows[i-1], rows[i]); {
		case c == 0:
			*errs = append(*errs, fmt.Errorf("%s: duplicate %s", table, key(rows[i])))
		case c > 0:
			*errs = append(*errs, fmt.Errorf("%s: %s sorts before %s", table, key(rows[i]), key(rows[i-1])))
		}
	}
}
