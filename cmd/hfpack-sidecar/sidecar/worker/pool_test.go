package worker_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/worker"
)

func TestPinDevices(t *testing.T) {
	for _, tc := range []struct {
		n       int
		devices []string
		want    []string
	}{
		{1, worker.DeviceList(4, ""), []string{""}},                   // device_map: every GPU visible
		{2, nil, []string{"", ""}},                                    // CPU: nothing to pin
		{4, worker.DeviceList(4, ""), []string{"0", "1", "2", "3"}},   // one per GPU
		{2, worker.DeviceList(8, ""), []string{"0,1,2,3", "4,5,6,7"}}, // a share each
		{4, worker.DeviceList(2, ""), []string{"0", "1", "0", "1"}},   // more workers than GPUs
		{2, worker.DeviceList(2, " 3, 5 "), []string{"3", "5"}},       // the sidecar's own CUDA_VISIBLE_DEVICES
		{2, worker.DeviceList(2, "GPU-a,GPU-b"), []string{"GPU-a", "GPU-b"}},
	} {
		if got := worker.PinDevices(tc.n, tc.devices); !cmp.Equal(got, tc.want) {
			t.Errorf("PinDevices(%d, %q) = %q, want %q", tc.n, tc.devices, got, tc.want)
		}
	}
}
