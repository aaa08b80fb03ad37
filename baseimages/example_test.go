package baseimages_test

import (
	"fmt"

	"github.com/hfpack/hfpack/baseimages"
)

// A lock with torch from PyPI (its default CUDA 12.6 build) and the
// nvidia-* wheels it depends on gets the smallest nvidia/cuda flavour.
func ExampleSelect() {
	sel, err := baseimages.Select(nil, baseimages.Request{
		Python:      "3.11",
		Accelerator: "NVIDIA_L4",
		Packages: []baseimages.Package{
			{Name: "torch", Version: "2.7.1", Wheel: "torch-2.7.1-cp311-cp311-manylinux_2_28_x86_64.whl"},
			{Name: "nvidia-cuda-runtime-cu12", Version: "12.6.77", Wheel: "nvidia_cuda_runtime_cu12-12.6.77-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"},
			{Name: "nvidia-cudnn-cu12", Version: "9.5.1.17", Wheel: "nvidia_cudnn_cu12-9.5.1.17-py3-none-manylinux_2_28_x86_64.whl"},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sel.Base.Repository + ":" + sel.Base.Tag)
	fmt.Println(sel.Base.Flavour, sel.CUDA, sel.PythonPath)
	for _, r := range sel.Reasons {
		fmt.Println("-", r)
	}
	for _, e := range sel.Env {
		fmt.Printf("%s=%s\n", e.Name, e.Value)
	}
	// Output:
	// docker.io/nvidia/cuda:12.6.3-base-ubuntu24.04
	// base 12.6 /opt/hfpack/python/bin/python3
	// - accelerator NVIDIA_L4: Ada GPU, compute capability 8.9 (sm_89)
	// - torch 2.7.1 from PyPI is the CUDA 12.6 build (the PyPI default of torch 2.7 is cu126)
	// - torch 2.7.1 (CUDA 12.6 build) has code for sm_89: sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90
	// - the locked wheels need glibc 2.28 or newer (nvidia_cudnn_cu12-9.5.1.17-py3-none-manylinux_2_28_x86_64.whl)
	// - the locked nvidia-* wheels (nvidia-cuda-runtime-cu12, nvidia-cudnn-cu12) bring the CUDA libraries, so the smallest flavour (base) is chosen: a runtime or cudnn-runtime base would ship CUDA twice (several GB)
	// - CUDA 12.6 needs driver 560.28.03 natively; the assumed Vertex driver floor 535.54.03 runs it through CUDA minor-version compatibility (floor 525.60.13), so NVIDIA_DISABLE_REQUIRE=1 keeps NVIDIA_REQUIRE_CUDA from refusing it where the NVIDIA runtime enforces that
	// - base docker.io/nvidia/cuda:12.6.3-base-ubuntu24.04: CUDA 12.6.3, base flavour, ubuntu 24.04 (glibc 2.39)
	// - the base has no Python, so hfpack adds the relocatable CPython 3.11.16 runtime at /opt/hfpack/python
	// - PATH includes /usr/local/nvidia/bin and LD_LIBRARY_PATH /usr/local/nvidia/lib:/usr/local/nvidia/lib64, where Vertex mounts the host driver
	// LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64
	// NVIDIA_DISABLE_REQUIRE=1
	// NVIDIA_DRIVER_CAPABILITIES=compute,utility
	// NVIDIA_VISIBLE_DEVICES=all
	// PATH=/opt/hfpack/python/bin:/usr/local/nvidia/bin:/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
}
