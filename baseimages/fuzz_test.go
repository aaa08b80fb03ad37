package baseimages

import (
	"strings"
	"testing"
)

// FuzzSelect feeds untrusted lock contents (versions, wheel names, the
// override reference) through Select: it must never panic, and a success
// must name a pinned base and a Python.
func FuzzSelect(f *testing.F) {
	f.Add("torch", "2.7.1", "torch-2.7.1-cp311-cp311-manylinux_2_28_x86_64.whl", "NVIDIA_L4", "3.11", "")
	f.Add("torch", "2.4.1+cu121", "torch-2.4.1%2Bcu121-cp311-cp311-linux_x86_64.whl", "NVIDIA_TESLA_V100", "3.11", "")
	f.Add("torch", "2.", "torch--.whl", "cpu", "3", "oci-layout:")
	f.Add("torch", "99999999999999999999.1+cu", "-----.whl", "cpu", "3.11", "x@sha256:")
	f.Add("nvidia-cuda-runtime-cu12", "12.4.127.1.1", "a-b-c-d-manylinux_2_99999999999999999999_x86_64.whl", "NVIDIA_B200", "3.11", "r:t@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	f.Add("onnxruntime-gpu", "v1.20", "x-1-cp3-abi3-manylinux2014_x86_64.whl", "NVIDIA_L4", "3.x", "")
	f.Add("torch", "2.7.1+cu", "", "NVIDIA_L4", "3.11", "")
	f.Add("torch", "2.7.1+cu1", "", "NVIDIA_L4", "3.11", "")
	f.Fuzz(func(t *testing.T, name, version, wheelName, acc, python, override string) {
		sel, err := Select(nil, Request{Python: python, Accelerator: acc, Override: override,
			Packages: []Package{{Name: name, Version: version, Wheel: wheelName}}})
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error message")
			}
			return
		}
		if sel.PythonPath == "" || (!sel.Override && !strings.Contains(sel.Base.Ref, "@sha256:")) {
			t.Errorf("Select succeeded without a pinned base or Python: %+v", sel)
		}
	})
}

func FuzzParseWheelName(f *testing.F) {
	for _, s := range []string{"a-1-py3-none-any.whl", "a-1-1b-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "-----.whl", "a-1-..-.-..whl", "manylinux_9_x86_64"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := parseWheelName(s)
		if err != nil {
			return
		}
		w.glibcNeed()
		w.pythonFits("3.11")
	})
}
