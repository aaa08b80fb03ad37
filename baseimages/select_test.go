package baseimages

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// torchLock is a lock as the lockfile package would write it for a torch
// pin: torch plus, for CUDA builds, the nvidia-* wheels it depends on.
func torchLock(t *testing.T, version string) []Package {
	t.Helper()
	v, err := parseTorchVersion(version)
	if err != nil {
		t.Fatal(err)
	}
	plat := "manylinux_2_28_x86_64"
	if v.minor < 6 {
		plat = "manylinux1_x86_64"
	}
	wheelVersion := strings.ReplaceAll(version, "+", "%2B")
	pkgs := []Package{{Name: "torch", Version: version, Wheel: fmt.Sprintf("torch-%s-cp311-cp311-%s.whl", wheelVersion, plat)}}
	if v.local == "cpu" {
		return pkgs
	}
	cuda := CUDAVersion{}
	if v.local != "" {
		cuda, _ = ParseCUDAVersion(v.local)
	} else if r, ok := Default().LookupTorch(version); ok {
		cuda = r.PyPIDefault
	} else {
		return pkgs
	}
	rt := fmt.Sprintf("nvidia-cuda-runtime-cu%d", cuda.Major)
	cudnn := fmt.Sprintf("nvidia-cudnn-cu%d", cuda.Major)
	if cuda.Major >= 13 {
		rt, cudnn = "nvidia-cuda-runtime", "nvidia-cudnn"
	}
	return append(pkgs,
		Package{Name: rt, Version: fmt.Sprintf("%s.77", cuda), Wheel: fmt.Sprintf("%s-%s.77-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", strings.ReplaceAll(rt, "-", "_"), cuda)},
		Package{Name: cudnn, Version: "9.1.0.70", Wheel: strings.ReplaceAll(cudnn, "-", "_") + "-9.1.0.70-py3-none-manylinux2014_x86_64.whl"},
	)
}

// Expected outcomes: a CUDA base tag prefix ("12.6" for
// nvidia/cuda:12.6.x-base), "cpu" for the CPU base, "cpu!" for the CPU base
// with the wasted-CUDA warning, or "E:" and the error kind.
const (
	eArch    = "E:arch"
	eDriver  = "E:driver"
	eRetired = "E:retired"
	eCPU     = "E:cputorch"
	eUnknown = "E:unknown"
	ePlat    = "E:platform"
)

func errKind(err error) []string {
	var kinds []string
	var (
		arch    *ArchError
		driver  *DriverError
		retired *RetiredAcceleratorError
		cpu     *CPUTorchError
		unknown *UnknownTorchError
		plat    *AcceleratorPlatformError
	)
	if errors.As(err, &plat) {
		kinds = append(kinds, ePlat)
	}
	if errors.As(err, &arch) {
		kinds = append(kinds, eArch)
	}
	if errors.As(err, &driver) {
		kinds = append(kinds, eDriver)
	}
	if errors.As(err, &retired) {
		kinds = append(kinds, eRetired)
	}
	if errors.As(err, &cpu) {
		kinds = append(kinds, eCPU)
	}
	if errors.As(err, &unknown) {
		kinds = append(kinds, eUnknown)
	}
	return kinds
}

// TestSelectMatrix runs every Vertex accelerator against a spread of torch
// pins, from 2.1 to 2.12 and past the catalog, PyPI defaults and +cuXYZ.
func TestSelectMatrix(t *testing.T) {
	accs := []string{"cpu", "NVIDIA_TESLA_K80", "NVIDIA_TESLA_P4", "NVIDIA_TESLA_P100", "NVIDIA_TESLA_V100", "NVIDIA_TESLA_T4", "NVIDIA_L4",
		"NVIDIA_TESLA_A100", "NVIDIA_A100_80GB", "NVIDIA_H100_80GB", "NVIDIA_H100_MEGA_80GB", "NVIDIA_H200_141GB", "NVIDIA_B200", "NVIDIA_GB200", "NVIDIA_RTX_PRO_6000"}
	// Columns follow accs: cpu K80 P4 P100 V100 | T4 L4 A100 A100_80 H100 H100M H200 | B200 GB200 RTX.
	matrix := []struct {
		torch string
		want  []string
	}{
		{"2.1.2", row("cpu!", "12.1", "12.1", "12.1", eArch)},
		{"2.1.2+cu118", row("cpu!", "11.8", "11.8", "11.8", eArch)},
		{"2.4.1", row("cpu!", "12.1", "12.1", "12.1", eArch)},
		{"2.5.1", row("cpu!", "12.4", "12.4", "12.4", eArch)},
		{"2.6.0+cu126", row("cpu!", "12.6", "12.6", "12.6", eArch)},
		{"2.7.1", row("cpu!", "12.6", "12.6", "12.6", eArch)},
		{"2.7.1+cu128", row("cpu!", eArch, eArch, "12.8", "12.8")},
		{"2.8.0", row("cpu!", eArch, "12.8", "12.8", "12.8")},
		{"2.8.0+cu129", row("cpu!", eArch, "12.9", "12.9", "12.9")},
		{"2.10.0+cu126", row("cpu!", "12.6", "12.6", "12.6", eArch)},
		{"2.11.0", row("cpu!", eArch, eArch, eDriver, eDriver)},
		{"2.11.0+cu128", row("cpu!", eArch, eArch, "12.8", "12.8")},
		{"2.12.0+cu126", row("cpu!", "12.6", "12.6", "12.6", eArch)},
		{"2.12.0", row("cpu!", eArch, eArch, eDriver, eDriver)},
		{"2.12.0+cpu", row("cpu", eCPU, eCPU, eCPU, eCPU)},
		{"2.13.0", row(eUnknown, eUnknown, eUnknown, eUnknown, eUnknown)},
	}
	for _, m := range matrix {
		for i, acc := range accs {
			want := m.want[i]
			t.Run(m.torch+"/"+acc, func(t *testing.T) {
				sel, err := Select(nil, Request{Python: "3.11", Accelerator: acc, Packages: torchLock(t, m.torch)})
				got := outcome(sel, err)
				ok := got == want || got == want+"-base"
				if strings.HasPrefix(want, "E:") {
					ok = slices.Contains(errKind(err), want)
				}
				if !ok {
					t.Errorf("Select(torch %s, %s) = %s (err %v), want %s", m.torch, acc, got, err, want)
				}
			})
		}
	}
}

// row expands outcomes for cpu, K80 (always retired), then
// P4/P100, V100, T4..H200 (Turing to Hopper) and B200/RTX PRO 6000; GB200
// (arm64) is always refused.
func row(cpu, pascal, volta, turingToHopper, blackwell string) []string {
	out := []string{cpu, eRetired, pascal, pascal, volta}
	for range 7 {
		out = append(out, turingToHopper)
	}
	// GB200 machines are arm64: refused before any torch check.
	return append(out, blackwell, ePlat, blackwell)
}

func outcome(sel Selection, err error) string {
	if err != nil {
		return strings.Join(errKind(err), "+") + " " + err.Error()
	}
	if !sel.Base.IsGPU() {
		for _, w := range sel.Warnings {
			if strings.Contains(w, "never used") {
				return "cpu!"
			}
		}
		return "cpu"
	}
	return sel.Base.CUDA.String() + "-" + sel.Base.Flavour
}
