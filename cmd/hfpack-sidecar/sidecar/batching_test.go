package sidecar_test

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar"
)

// With a delay far longer than the test, a batch leaves only when full, so
// every prediction must report the full batch size.
func TestConcurrentRequestsShareBatches(t *testing.T) {
	cfg := testConfig(t, testHandler)
	cfg.MaxBatchSize = 4
	cfg.MaxBatchDelay = sidecar.Duration(time.Minute)
	h := startReady(t, cfg)
	preds := parallel(t, h, 8, func(i int) (string, []any) {
		return `{"group": "` + []string{"a", "b"}[i%2] + `"}`, []any{i}
	})
	for i, p := range preds {
		if p[0].Batch != 4 {
			t.Errorf("request %d ran in a batch of %d, want 4", i, p[0].Batch)
		}
		if want := []string{"a", "b"}[i%2]; p[0].Params["group"] != want {
			t.Errorf("request %d got parameters %v, want group %q: batches mixed parameters", i, p[0].Params, want)
		}
		if string(p[0].Echo) != strconv.Itoa(i) {
			t.Errorf("request %d got prediction for %s", i, p[0].Echo)
		}
	}
}

func TestLargeRequestIsSplit(t *testing.T) {
	cfg := testConfig(t, testHandler)
	cfg.MaxBatchSize = 4
	cfg.MaxBatchDelay = 0
	h := startReady(t, cfg)
	in := make([]any, 10)
	for i := range in {
		in[i] = i
	}
	got, err := h.predict("", in...)
	must(t, err)
	var echoes []string
	sizes := map[int]int{}
	for _, p := range got {
		echoes = append(echoes, string(p.Echo))
		sizes[p.Batch]++
		if p.Batch > 4 {
			t.Errorf("prediction %s came from a batch of %d > max 4", p.Echo, p.Batch)
		}
	}
	if diff := cmp.Diff([]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, echoes); diff != "" {
		t.Errorf("predictions out of order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[int]int{4: 8, 2: 2}, sizes); diff != "" {
		t.Errorf("instances per batch size (-want +got):\n%s", diff)
	}
}

func TestOrderingUnderConcurrency(t *testing.T) {
	cfg := testConfig(t, testHandler)
	cfg.MaxBatchSize = 5
	h := startReady(t, cfg)
	const n = 60
	sizes := func(i int) int { return 1 + i%7 }
	preds := parallel(t, h, n, func(i int) (string, []any) {
		in := make([]any, sizes(i))
		for j := range in {
			in[j] = fmt.Sprintf("r%d-%d", i, j)
		}
		return "", in
	})
	for i, p := range preds {
		for j, pr := range p {
			if want := fmt.Sprintf(`"r%d-%d"`, i, j); string(pr.Echo) != want {
				t.Fatalf("request %d prediction %d = %s, want %s", i, j, pr.Echo, want)
			}
		}
	}
}

// parallel sends n requests at once and returns their predictions by index.
func parallel(t *testing.T, h *harness, n int, req func(i int) (params string, instances []any)) [][]pred {
	t.Helper()
	out := make([][]pred, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			params, in := req(i)
			out[i], errs[i] = h.predict(params, in...)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	return out
}
