package accelerators_test

import (
	"slices"
	"testing"

	"github.com/hfpack/hfpack/accelerators"
)

func TestLookup(t *testing.T) {
	for _, tt := range []struct {
		name string
		gpu  bool
		ok   bool
	}{
		{"cpu", false, true},
		{"NVIDIA_L4", true, true},
		{"NVIDIA_L5", false, false},
	} {
		a, ok := accelerators.Lookup(tt.name)
		if ok != tt.ok || (ok && a.IsGPU() != tt.gpu) {
			t.Errorf("Lookup(%q) = %+v, %t; want ok %t, GPU %t", tt.name, a, ok, tt.ok, tt.gpu)
		}
	}
	if l4, _ := accelerators.Lookup("NVIDIA_L4"); l4.ComputeCapability.String() != "8.9" {
		t.Errorf("NVIDIA_L4 compute capability = %s, want 8.9", l4.ComputeCapability)
	}
}

func TestNames(t *testing.T) {
	names := accelerators.Names()
	if !slices.IsSorted(names) || !slices.Contains(names, "cpu") || len(names) != len(accelerators.All())+1 {
		t.Errorf("Names() = %v: want sorted, the table plus cpu", names)
	}
}
