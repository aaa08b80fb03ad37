package baseimages

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func wheel(name, version, tags string) Package {
	return Package{Name: name, Version: version, Wheel: strings.ReplaceAll(name, "-", "_") + "-" + version + "-" + tags + ".whl"}
}

// The acceptance case: torch from PyPI (cu12x default) plus its nvidia-*
// wheels gets the base flavour, and the reasons say why.
func TestSelectPyPITorchWithNvidiaWheelsGetsBaseFlavour(t *testing.T) {
	for _, torch := range []string{"2.4.1", "2.5.1", "2.6.0", "2.7.1", "2.8.0", "2.10.0"} {
		t.Run(torch, func(t *testing.T) {
			sel, err := Select(nil, Request{Python: "3.11", Accelerator: "NVIDIA_L4", Packages: torchLock(t, torch)})
			if err != nil {
				t.Fatal(err)
			}
			if sel.Base.Flavour != FlavourBase {
				t.Errorf("flavour = %q, want base", sel.Base.Flavour)
			}
			reasons := strings.Join(sel.Reasons, "\n")
			for _, want := range []string{"nvidia-cuda-runtime-cu12", "smallest flavour (base)", "ship CUDA twice", "from PyPI is the CUDA"} {
				if !strings.Contains(reasons, want) {
					t.Errorf("reasons lack %q:\n%s", want, reasons)
				}
			}
		})
	}
}

func TestSelectSystemCUDAFlavour(t *testing.T) {
	ort := wheel("onnxruntime-gpu", "1.20.1", "cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64")
	tests := []struct {
		name        string
		pkgs        []Package
		wantFlavour string
		wantReason  string
	}{
		{"onnxruntime-gpu alone needs cuDNN from the system", []Package{ort}, FlavourCuDNNRuntime, "onnxruntime-gpu 1.20.1 needs the cudnn-runtime flavour"},
		{"onnxruntime-gpu with cuBLAS and cuDNN wheels", []Package{ort,
			wheel("nvidia-cublas-cu12", "12.4.5.8", "py3-none-manylinux2014_x86_64"),
			wheel("nvidia-cudnn-cu12", "9.1.0.70", "py3-none-manylinux2014_x86_64"),
			wheel("nvidia-cuda-runtime-cu12", "12.4.127", "py3-none-manylinux2014_x86_64")}, FlavourBase, "smallest flavour (base)"},
		{"deepspeed needs nvcc", append(torchLock(t, "2.6.0+cu126"), wheel("deepspeed", "0.16.0", "py3-none-any")), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := Select(nil, Request{Python: "3.11", Accelerator: "NVIDIA_TESLA_T4", Packages: tt.pkgs})
			if tt.wantFlavour == "" {
				// No devel image for CUDA 12.6 in the catalog: a clear error.
				var noImage *NoImageError
				if !errors.As(err, &noImage) || noImage.Flavour != FlavourDevel {
					t.Fatalf("Select = %v, want a NoImageError for the devel flavour", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sel.Base.Flavour != tt.wantFlavour {
				t.Errorf("flavour = %q, want %q", sel.Base.Flavour, tt.wantFlavour)
			}
			if !strings.Contains(strings.Join(sel.Reasons, "\n"), tt.wantReason) {
				t.Errorf("reasons lack %q: %q", tt.wantReason, sel.Reasons)
			}
		})
	}
}

func TestSelectGlibc(t *testing.T) {
	tests := []struct {
		name    string
		torch   string
		wheel   Package
		wantErr any
	}{
		{"manylinux_2_35 on ubuntu 22.04", "2.4.1+cu121", wheel("tokenizers", "0.21.0", "cp39-abi3-manylinux_2_35_x86_64"), nil},
		{"manylinux_2_38 on ubuntu 22.04", "2.4.1+cu121", wheel("tokenizers", "0.21.0", "cp39-abi3-manylinux_2_38_x86_64"), &GlibcError{}},
		{"manylinux_2_38 on ubuntu 24.04", "2.7.1", wheel("tokenizers", "0.21.0", "cp39-abi3-manylinux_2_38_x86_64"), nil},
		{"manylinux_2_40 beyond every base", "2.7.1", wheel("tokenizers", "0.21.0", "cp39-abi3-manylinux_2_40_x86_64"), &GlibcError{}},
		{"compressed tag set takes the oldest", "2.4.1+cu121", wheel("regex", "2024.1.1", "cp311-cp311-manylinux_2_38_x86_64.manylinux2014_x86_64"), nil},
		{"musllinux", "2.7.1", wheel("regex", "2024.1.1", "cp311-cp311-musllinux_1_2_x86_64"), &PlatformError{}},
		{"aarch64", "2.7.1", wheel("regex", "2024.1.1", "cp311-cp311-manylinux2014_aarch64"), &PlatformError{}},
		{"macOS", "2.7.1", wheel("regex", "2024.1.1", "cp311-cp311-macosx_11_0_arm64"), &PlatformError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Select(nil, Request{Python: "3.11", Accelerator: "NVIDIA_L4", Packages: append(torchLock(t, tt.torch), tt.wheel)})
			checkErrType(t, err, tt.wantErr)
		})
	}
}

func TestSelectGlibcCPU(t *testing.T) {
	_, err := Select(nil, Request{Python: "3.11", Accelerator: CPU, Packages: []Package{wheel("numpy", "2.3.0", "cp311-cp311-manylinux_2_39_x86_64")}})
	var g *GlibcError
	if !errors.As(err, &g) || g.Has != "2.36" || g.Needs != "2.39" {
		t.Fatalf("Select = %v, want GlibcError needs 2.39 has 2.36", err)
	}
	if !strings.Contains(err.Error(), "numpy-2.3.0") || !strings.Contains(err.Error(), "lock an older build") {
		t.Errorf("error %q names neither the wheel nor the fix", err)
	}
}

func TestSelectPython(t *testing.T) {
	tests := []struct {
		name     string
		python   string
		acc      string
		pkgs     []Package
		wantPath string
		wantRT   bool
		wantErr  any
	}{
		{"cpu base carries 3.11", "3.11", CPU, nil, "/usr/local/bin/python3", false, nil},
		{"cpu base without 3.12 adds the runtime", "3.12", CPU, nil, "/opt/hfpack/python/bin/python3", true, nil},
		{"gpu base adds the runtime", "3.10", "NVIDIA_L4", []Package{wheel("torch", "2.7.1", "cp310-cp310-manylinux_2_28_x86_64")}, "/opt/hfpack/python/bin/python3", true, nil},
		{"no runtime for 3.8", "3.8", "NVIDIA_L4", []Package{wheel("torch", "2.4.1", "cp38-cp38-manylinux1_x86_64")}, "", false, &PythonError{}},
		{"wheel built for 3.10 in a 3.11 lock", "3.11", CPU, []Package{wheel("numpy", "1.26.4", "cp310-cp310-manylinux_2_17_x86_64")}, "", false, &PythonError{}},
		{"abi3 wheel from an older Python fits", "3.11", CPU, []Package{wheel("cryptography", "43.0.0", "cp39-abi3-manylinux_2_28_x86_64")}, "/usr/local/bin/python3", false, nil},
		{"abi3 wheel from a newer Python does not", "3.11", CPU, []Package{wheel("cryptography", "43.0.0", "cp312-abi3-manylinux_2_28_x86_64")}, "", false, &PythonError{}},
		{"malformed target", "3", CPU, nil, "", false, &PythonError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := Select(nil, Request{Python: tt.python, Accelerator: tt.acc, Packages: tt.pkgs})
			checkErrType(t, err, tt.wantErr)
			if err != nil {
				return
			}
			if sel.PythonPath != tt.wantPath || (sel.Runtime != nil) != tt.wantRT {
				t.Errorf("python = %s (runtime %v), want %s (runtime %v)", sel.PythonPath, sel.Runtime != nil, tt.wantPath, tt.wantRT)
			}
			if tt.wantRT && sel.Runtime.Python != tt.python {
				t.Errorf("runtime = %s, want %s", sel.Runtime.Python, tt.python)
			}
		})
	}
}

func TestSelectErrorMessages(t *testing.T) {
	tests := []struct {
		name  string
		acc   string
		torch string
		floor string
		want  []string
	}{
		{"V100 with torch 2.11+cu128", "NVIDIA_TESLA_V100", "2.11.0+cu128", "", []string{"sm_70 was dropped; use the cu126 index or another GPU"}},
		{"B200 with torch 2.5", "NVIDIA_B200", "2.5.1", "", []string{"sm_100 is not built", "use torch 2.7 or newer with the cu128 index, or another GPU"}},
		{"H100 with PyPI torch 2.11 (CUDA 13)", "NVIDIA_H100_80GB", "2.11.0", "", []string{"torch 2.11.0 needs CUDA 13.0", "driver 580", "floor 535.54.03", "torch==2.11.0+cu126, torch==2.11.0+cu128", "min-driver = \"580.65.06\""}},
		{"T4 with CPU torch", "NVIDIA_TESLA_T4", "2.6.0+cpu", "", []string{"CPU-only build", "accelerator = \"cpu\""}},
		{"unknown torch", "NVIDIA_L4", "2.13.0", "", []string{"torch 2.13.0 is not in hfpack's base image catalog (it knows 2.1 to 2.12)", "[image] base"}},
		{"torch older than the catalog", "NVIDIA_L4", "2.0.1", "", []string{"torch 2.0.1 is not in hfpack's base image catalog (it knows 2.1 to 2.12)"}},
		{"unknown variant", "NVIDIA_L4", "2.7.1+cu121", "", []string{"the cu121 build is not in", "[image] base"}},
		{"K80", "NVIDIA_TESLA_K80", "2.1.2+cu118", "", []string{"retired", "NVIDIA_TESLA_T4"}},
		{"unknown accelerator", "NVIDIA_TESLA_X1", "2.7.1", "", []string{"unknown accelerator \"NVIDIA_TESLA_X1\"", "NVIDIA_L4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Select(nil, Request{Python: "3.11", Accelerator: tt.acc, Packages: torchLock(t, tt.torch), DriverFloor: tt.floor})
			if err == nil {
				t.Fatal("Select succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestSelectDriverFloor(t *testing.T) {
	sel, err := Select(nil, Request{Python: "3.11", Accelerator: "NVIDIA_H200_141GB", Packages: torchLock(t, "2.11.0"), DriverFloor: "580.159"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sel.Base.Tag, "13.0.2-base-ubuntu24.04"; got != want {
		t.Errorf("tag = %s, want %s", got, want)
	}
	if envValue(sel.Env, "NVIDIA_DISABLE_REQUIRE") != "" {
		t.Errorf("driver 580.159 runs CUDA 13.0 natively, yet NVIDIA_DISABLE_REQUIRE is set")
	}
	// Below the floor of the major, even minor-version compatibility fails.
	if _, err := Select(nil, Request{Python: "3.11", Accelerator: "NVIDIA_L4", Packages: torchLock(t, "2.7.1"), DriverFloor: "520.61.05"}); !errors.As(err, new(*DriverError)) {
		t.Errorf("driver 520 with CUDA 12.6: err = %v, want DriverError", err)
	}
}

func TestSelectCPUTorchOnCPU(t *testing.T) {
	sel, err := Select(nil, Request{Python: "3.11", Accelerator: CPU, Packages: torchLock(t, "2.7.1+cpu")})
	if err != nil {
		t.Fatal(err)
	}
	want := []EnvVar{{Name: "PATH", Value: stdPath}}
	if diff := cmp.Diff(want, sel.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if len(sel.Warnings) != 1 || !strings.Contains(sel.Warnings[0], "not yet verified") {
		t.Errorf("warnings = %q, want only the unverified-digest warning", sel.Warnings)
	}
}

func TestSelectGPUWithoutCUDAWarns(t *testing.T) {
	sel, err := Select(nil, Request{Python: "3.11", Accelerator: "NVIDIA_L4", Packages: []Package{wheel("numpy", "2.1.0", "cp311-cp311-manylinux_2_17_x86_64")}})
	if err != nil {
		t.Fatal(err)
	}
	if sel.Base.IsGPU() || !strings.Contains(strings.Join(sel.Warnings, "\n"), "sit idle") {
		t.Errorf("Select = %s, warnings %q; want the CPU base and an idle-GPU warning", sel.Base.Ref, sel.Warnings)
	}
	if envValue(sel.Env, "LD_LIBRARY_PATH") != nvidiaLibPath {
		t.Errorf("GPU machine without /usr/local/nvidia in LD_LIBRARY_PATH: %v", sel.Env)
	}
}

func TestSelectCUDAConflict(t *testing.T) {
	pkgs := append(torchLock(t, "2.1.2+cu118"), wheel("cupy-cuda12x", "13.3.0", "cp311-cp311-manylinux2014_x86_64"))
	_, err := Select(nil, Request{Python: "3.11", Accelerator: "NVIDIA_L4", Packages: pkgs})
	var c *CUDAConflictError
	if !errors.As(err, &c) {
		t.Fatalf("Select = %v, want CUDAConflictError", err)
	}
}

func TestSelectGPUEnv(t *testing.T) {
	sel, err := Select(nil, Request{Python: "3.11", Accelerator: "NVIDIA_A100_80GB", AcceleratorCount: 2, Packages: torchLock(t, "2.4.1+cu121")})
	if err != nil {
		t.Fatal(err)
	}
	want := []EnvVar{
		{Name: "LD_LIBRARY_PATH", Value: "/usr/local/nvidia/lib:/usr/local/nvidia/lib64"},
		{Name: "NVIDIA_DRIVER_CAPABILITIES", Value: "compute,utility"},
		{Name: "NVIDIA_VISIBLE_DEVICES", Value: "all"},
		{Name: "PATH", Value: "/opt/hfpack/python/bin:/usr/local/nvidia/bin:/usr/local/cuda/bin:" + stdPath},
	}
	if diff := cmp.Diff(want, sel.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if sel.Base.Ref != "docker.io/nvidia/cuda:12.1.1-base-ubuntu22.04@sha256:457a4076c56025f51217bff647ca631c7880ad3dbf546b03728ba98297ebbc22" {
		t.Errorf("ref = %s", sel.Base.Ref)
	}
}

// Select's result depends only on its input: package order does not matter.
func TestSelectDeterministic(t *testing.T) {
	pkgs := torchLock(t, "2.7.1")
	a, errA := Select(nil, Request{Python: "3.11", Accelerator: "NVIDIA_L4", Packages: pkgs})
	rev := []Package{pkgs[2], pkgs[1], pkgs[0]}
	b, errB := Select(nil, Request{Python: "3.11", Accelerator: "NVIDIA_L4", Packages: rev})
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("package order changed the selection (-want +got):\n%s", diff)
	}
}

func checkErrType(t *testing.T, err error, want any) {
	t.Helper()
	switch want.(type) {
	case nil:
		if err != nil {
			t.Fatalf("Select: %v", err)
		}
	case *GlibcError:
		if !errors.As(err, new(*GlibcError)) {
			t.Fatalf("Select = %v, want GlibcError", err)
		}
	case *PlatformError:
		if !errors.As(err, new(*PlatformError)) {
			t.Fatalf("Select = %v, want PlatformError", err)
		}
	case *PythonError:
		if !errors.As(err, new(*PythonError)) {
			t.Fatalf("Select = %v, want PythonError", err)
		}
	case *OverrideError:
		if !errors.As(err, new(*OverrideError)) {
			t.Fatalf("Select = %v, want OverrideError", err)
		}
	default:
		t.Fatalf("checkErrType: unhandled %T", want)
	}
}

func envValue(env []EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// The driver-floor refusal prints the manifest lines that fix it: the
// [[python.index]] block of the newest CUDA build of the locked torch the
// floor runs on the GPU, and the [accelerator] min-driver that runs the
// locked CUDA natively.
func TestDriverErrorPrintsManifestFix(t *testing.T) {
	_, err := Select(nil, Request{Python: "3.11", Accelerator: "NVIDIA_L4", Packages: torchLock(t, "2.11.0")})
	var de *DriverError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want a DriverError", err)
	}
	want := `torch 2.11.0 needs CUDA 13.0, which needs NVIDIA driver 580 or newer, above the assumed Vertex driver floor 535.54.03: fix it in hfpack.toml, then run hfpack lock

1. lock torch 2.11's cu128 build (of torch==2.11.0+cu126, torch==2.11.0+cu128, the builds the floor runs on this GPU): add

    [[python.index]]
    name = "pytorch-cu128"
    url = "https://download.pytorch.org/whl/cu128"
    packages = ["torch"]

2. or, if your Vertex nodes run driver 580.65.06 or newer, raise the floor (hfpack vertex-spec then asks Vertex for such nodes):

    [accelerator]
    min-driver = "580.65.06"`
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	// Following either fix selects a base.
	if _, err := Select(nil, Request{Python: "3.11", Accelerator: "NVIDIA_L4", Packages: torchLock(t, "2.11.0+cu128")}); err != nil {
		t.Errorf("torch 2.11.0+cu128 from the suggested index: %v", err)
	}
	if _, err := Select(nil, Request{Python: "3.11", Accelerator: "NVIDIA_L4", Packages: torchLock(t, "2.11.0"), DriverFloor: de.MinDriver}); err != nil {
		t.Errorf("min-driver %s: %v", de.MinDriver, err)
	}
}
