package baseimages

import (
	"fmt"
	"slices"
	"strings"
)

// wheelNeeds is what the locked wheels ask of the base.
type wheelNeeds struct {
	glibc      string // newest glibc any wheel needs; "" when none
	glibcWheel string
}

// wheelNeeds checks every locked wheel's tags against linux x86_64 and the
// target Python, and finds the glibc the base must have.
func (s *selector) wheelNeeds() wheelNeeds {
	var n wheelNeeds
	for _, p := range sortedPackages(s.req.Packages) {
		if p.Wheel == "" {
			continue
		}
		tags, err := parseWheelName(p.Wheel)
		if err != nil {
			s.fail(fmt.Errorf("locked %s: %w", p.Name, err))
			continue
		}
		glibc, fits, bad := tags.glibcNeed()
		if !fits {
			s.fail(&PlatformError{Wheel: p.Wheel, Tag: bad})
			continue
		}
		if glibc != "" && (n.glibc == "" || compareGlibc(glibc, n.glibc) > 0) {
			n.glibc, n.glibcWheel = glibc, p.Wheel
		}
		if ok, built := tags.pythonFits(s.req.Python); !ok {
			s.fail(&PythonError{Want: s.req.Python, Have: built, Where: "wheel " + p.Wheel, Fix: "re-lock for Python " + s.req.Python})
		}
	}
	if n.glibc != "" {
		s.reason("the locked wheels need glibc %s or newer (%s)", n.glibc, n.glibcWheel)
	}
	return n
}

// catalogBase picks the base from the catalog.
func (s *selector) catalogBase(needs wheelNeeds) {
	switch {
	case !s.acc.IsGPU():
		s.cpuBase(needs)
	case s.need.version.IsZero():
		s.warn("nothing in the lock uses CUDA, so the %s GPU would sit idle: lock a CUDA build of your framework, or set accelerator = \"cpu\"", s.acc.Name)
		s.cpuBase(needs)
	default:
		s.gpuBase(needs)
	}
}

// cpuBase picks a CPU base, preferring one with the target Python.
func (s *selector) cpuBase(needs wheelNeeds) {
	cands := filterImages(s.cat.Images, func(im Image) bool { return im.Flavour == FlavourCPU })
	im, ok := s.pickGlibc(cands, needs, func(a, b Image) int {
		return boolInt(b.Python == s.req.Python) - boolInt(a.Python == s.req.Python)
	})
	if !ok {
		return
	}
	s.setBase(im)
	s.reason("CPU base %s: Debian/Ubuntu glibc %s, no CUDA", im.Repository+":"+im.Tag, im.Glibc)
}

// gpuBase picks the nvidia/cuda base for the lock's CUDA.
func (s *selector) gpuBase(needs wheelNeeds) {
	flavour := s.flavour()
	v := s.need.version
	var cands []Image
	if s.need.minorKnown {
		cands = s.exactCUDA(v, flavour)
	} else {
		cands = s.newestCUDA(v.Major, flavour)
	}
	if len(cands) == 0 {
		s.fail(&NoImageError{CUDA: v, Flavour: flavour})
		return
	}
	im, ok := s.pickGlibc(cands, needs, func(a, b Image) int { return flavourRank(a.Flavour) - flavourRank(b.Flavour) })
	if !ok {
		return
	}
	if !s.need.minorKnown {
		s.reason("%s needs CUDA %d; chose %s, the newest CUDA %d base the driver floor runs", s.need.from, v.Major, im.CUDA, v.Major)
		v = im.CUDA
	} else if im.CUDA != v {
		s.reason("no base image for CUDA %s: CUDA %s's %s image serves, as the wheels bring CUDA %s's libraries", v, im.CUDA, im.Flavour, v)
	}
	s.out.CUDA = v.String()
	s.driver(v)
	s.setBase(im)
	s.reason("base %s: CUDA %s, %s flavour, %s %s (glibc %s)", im.Repository+":"+im.Tag, im.CUDAPatch, im.Flavour, im.OS, im.OSVersion, im.Glibc)
}

// exactCUDA returns images for CUDA v of at least flavour; for the base
// flavour an older minor of the same major serves when v has none.
func (s *selector) exactCUDA(v CUDAVersion, flavour string) []Image {
	cands := filterImages(s.cat.Images, func(im Image) bool { return im.CUDA == v && flavourRank(im.Flavour) >= flavourRank(flavour) })
	if len(cands) > 0 || flavour != FlavourBase {
		return cands
	}
	older := filterImages(s.cat.Images, func(im Image) bool {
		return im.IsGPU() && im.CUDA.Major == v.Major && im.CUDA.Compare(v) < 0 && im.Flavour == FlavourBase
	})
	if len(older) == 0 {
		return nil
	}
	newest := slices.MaxFunc(older, func(a, b Image) int { return a.CUDA.Compare(b.CUDA) }).CUDA
	return filterImages(older, func(im Image) bool { return im.CUDA == newest })
}

// newestCUDA returns the images of the newest CUDA minor of major that the
// driver floor runs, of at least flavour.
func (s *selector) newestCUDA(major int, flavour string) []Image {
	ok := filterImages(s.cat.Images, func(im Image) bool {
		return im.IsGPU() && im.CUDA.Major == major && flavourRank(im.Flavour) >= flavourRank(flavour) && s.driverOK(im.CUDA)
	})
	if len(ok) == 0 {
		return nil
	}
	newest := slices.MaxFunc(ok, func(a, b Image) int { return a.CUDA.Compare(b.CUDA) }).CUDA
	return filterImages(ok, func(im Image) bool { return im.CUDA == newest })
}

// flavour decides the smallest flavour the lock can run on.
func (s *selector) flavour() string {
	flavour := FlavourBase
	switch {
	case s.need.wheels:
		s.reason("the locked nvidia-* wheels (%s) bring the CUDA libraries, so the smallest flavour (base) is chosen: a runtime or cudnn-runtime base would ship CUDA twice (several GB)", strings.Join(s.need.wheelNames, ", "))
	case s.need.torch != nil && !s.need.torch.cuda.IsZero():
		s.reason("torch %s brings its CUDA libraries (bundled, or through its nvidia-* dependencies), so the smallest flavour (base) is chosen", s.need.torch.version)
	default:
		flavour = FlavourRuntime
		s.reason("no locked wheel brings the CUDA libraries (%s needs CUDA), so the base must: runtime flavour", s.need.from)
	}
	for _, r := range s.cat.SystemCUDA {
		p, locked := s.req.lookup(r.Name)
		if !locked || s.hasAll(r.Unless) {
			continue
		}
		if flavourRank(r.Flavour) > flavourRank(flavour) {
			flavour = r.Flavour
		}
		fix := ""
		if len(r.Unless) > 0 {
			fix = fmt.Sprintf(" (locking %s would allow the base flavour)", strings.Join(r.Unless, " and "))
		}
		s.reason("%s %s needs the %s flavour: it %s%s", p.Name, p.Version, r.Flavour, r.Why, fix)
	}
	return flavour
}

func (s *selector) hasAll(names []string) bool {
	if len(names) == 0 {
		return false
	}
	for _, n := range names {
		if _, ok := s.req.lookup(n); !ok {
			return false
		}
	}
	return true
}

// pickGlibc returns the best candidate whose glibc covers the wheels:
// ordered by pref, then newest glibc.
func (s *selector) pickGlibc(cands []Image, needs wheelNeeds, pref func(a, b Image) int) (Image, bool) {
	fit := filterImages(cands, func(im Image) bool { return needs.glibc == "" || compareGlibc(im.Glibc, needs.glibc) >= 0 })
	if len(fit) == 0 {
		best := slices.MaxFunc(cands, func(a, b Image) int { return compareGlibc(a.Glibc, b.Glibc) })
		s.fail(&GlibcError{Wheel: needs.glibcWheel, Needs: needs.glibc, Base: best.Ref, Has: best.Glibc})
		return Image{}, false
	}
	slices.SortStableFunc(fit, func(a, b Image) int {
		if c := pref(a, b); c != 0 {
			return c
		}
		// Among bases that fit equally, a catalog file's row wins: its
		// author curated it for this network.
		if c := boolInt(b.Catalog != "") - boolInt(a.Catalog != ""); c != 0 {
			return c
		}
		return compareGlibc(b.Glibc, a.Glibc)
	})
	return fit[0], true
}

// driver checks that the assumed driver floor runs CUDA v.
func (s *selector) driver(v CUDAVersion) {
	tk, ok := s.cat.Toolkit(v)
	if !ok {
		s.fail(&NoImageError{CUDA: v, Flavour: "toolkit"})
		return
	}
	switch {
	case compareDrivers(s.floor, tk.MinDriver) >= 0:
		s.reason("CUDA %s needs driver %s; the assumed Vertex driver floor %s runs it", v, tk.MinDriver, s.floor)
	case compareDrivers(s.floor, tk.CompatDriver) >= 0:
		s.compat = true
		s.reason("CUDA %s needs driver %s natively; the assumed Vertex driver floor %s runs it through CUDA minor-version compatibility (floor %s), so NVIDIA_DISABLE_REQUIRE=1 keeps NVIDIA_REQUIRE_CUDA from refusing it where the NVIDIA runtime enforces that", v, tk.MinDriver, s.floor, tk.CompatDriver)
	default:
		e := &DriverError{CUDA: v, Needs: tk.CompatDriver, Floor: s.floor, Source: s.need.from, Fallbacks: s.driverFallbacks(), MinDriver: tk.MinDriver}
		if t := s.need.torch; t != nil && t.release != nil && len(e.Fallbacks) > 0 {
			newest := s.runnableVariants()[len(e.Fallbacks)-1]
			e.Index = &TorchIndex{Torch: t.release.Release, CUDA: newest.CUDA.Tag()}
		}
		s.fail(e)
	}
}

// driverFallbacks lists the torch builds of the locked release that the
// floor runs on the accelerator.
func (s *selector) driverFallbacks() []string {
	t := s.need.torch
	if t == nil || t.release == nil {
		return nil
	}
	var out []string
	for _, v := range s.runnableVariants() {
		out = append(out, fmt.Sprintf("torch==%s+%s", t.parsed.public(), v.CUDA.Tag()))
	}
	return out
}

// runnableVariants are the builds of the locked torch release that the
// floor runs on the accelerator, oldest CUDA first.
func (s *selector) runnableVariants() []TorchVariant {
	var out []TorchVariant
	for _, v := range s.need.torch.release.Variants {
		if s.driverOK(v.CUDA) && v.Runs(s.acc.ComputeCapability) {
			out = append(out, v)
		}
	}
	return out
}

func (s *selector) setBase(im Image) {
	s.out.Base = im
	if !im.DigestVerified {
		s.warn("the digest of %s:%s is recorded from public sources and not yet verified against the registry: run go generate ./baseimages where the registry is reachable", im.Repository, im.Tag)
	}
}

func filterImages(ims []Image, keep func(Image) bool) []Image {
	var out []Image
	for _, im := range ims {
		if keep(im) {
			out = append(out, im)
		}
	}
	return out
}
