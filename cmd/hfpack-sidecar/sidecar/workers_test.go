package sidecar_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar"
)

// workersHandler answers each instance with the CUDA_VISIBLE_DEVICES and pid
// of the worker that ran it. A worker pinned to GPU "1" waits in load() for
// HFPACK_TEST_LOAD_GATE to exist, when set.
const workersHandler = `
import os, time

def load(model_dir):
    gate = os.environ.get("HFPACK_TEST_LOAD_GATE")
    if gate and os.environ.get("CUDA_VISIBLE_DEVICES") == "1":
        while not os.path.exists(gate):
            time.sleep(0.005)
    return None

def predict(state, instances, parameters):
    out = []
    for x in instances:
        if x.get("mark"):
            open(x["mark"], "w").close()
        if x.get("wait_for"):
            while not os.path.exists(x["wait_for"]):
                time.sleep(0.005)
        if x.get("crash"):
            os._exit(3)
        out.append({"cuda": os.environ.get("CUDA_VISIBLE_DEVICES"), "pid": os.getpid()})
    return out
`

type workerPred struct {
	CUDA *string `json:"cuda"`
	PID  int     `json:"pid"`
}

func (h *harness) workerPredict(instance map[string]any) (workerPred, int, string) {
	b, _ := json.Marshal(map[string]any{"instances": []any{instance}})
	code, body := h.post("/predict", string(b))
	var out struct{ Predictions []workerPred }
	if code == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Predictions) != 1 {
			h.t.Fatalf("predict = %s, want one prediction", body)
		}
		return out.Predictions[0], code, body
	}
	return workerPred{}, code, body
}

// busyAndFree runs one request that holds a worker until released, then one
// more, which only another worker can take; it returns both answers.
func (h *harness) busyAndFree(t *testing.T, second map[string]any) (held, other workerPred, code int, body string) {
	t.Helper()
	dir := t.TempDir()
	mark, release := filepath.Join(dir, "mark"), filepath.Join(dir, "release")
	type res struct {
		p    workerPred
		code int
		body string
	}
	first := make(chan res, 1)
	go func() {
		p, c, b := h.workerPredict(map[string]any{"mark": mark, "wait_for": release})
		first <- res{p, c, b}
	}()
	waitFile(t, mark)
	other, code, body = h.workerPredict(second)
	must(t, os.WriteFile(release, nil, 0o644))
	r := <-first
	if r.code != http.StatusOK {
		t.Fatalf("held request = %d %s", r.code, r.body)
	}
	return r.p, other, code, body
}

func cuda(p workerPred) string {
	if p.CUDA == nil {
		return "<unset>"
	}
	return *p.CUDA
}

// Each worker is pinned to its share of the replica's GPUs: the handler
// sees it in its own environment.
func TestWorkersArePinnedToTheirGPUs(t *testing.T) {
	for _, tc := range []struct {
		workers, gpus int
		want          []string
	}{
		{2, 2, []string{"0", "1"}},
		{2, 4, []string{"0,1", "2,3"}},
	} {
		cfg := testConfig(t, workersHandler)
		cfg.Workers, cfg.GPUs = tc.workers, tc.gpus
		h := startReady(t, cfg)
		held, other, code, body := h.busyAndFree(t, map[string]any{})
		if code != http.StatusOK {
			t.Fatalf("second request = %d %s", code, body)
		}
		got := []string{cuda(held), cuda(other)}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("workers=%d gpus=%d: handlers saw CUDA_VISIBLE_DEVICES %q, want %q", tc.workers, tc.gpus, got, tc.want)
		}
		h.stop()
	}
}

// One worker over several GPUs (a model sharded with device_map) keeps every
// GPU visible: the sidecar sets no CUDA_VISIBLE_DEVICES of its own.
func TestOneWorkerSeesEveryGPU(t *testing.T) {
	if v, ok := os.LookupEnv("CUDA_VISIBLE_DEVICES"); ok {
		t.Skipf("the test's own CUDA_VISIBLE_DEVICES=%q would be inherited", v)
	}
	cfg := testConfig(t, workersHandler)
	cfg.Workers, cfg.GPUs = 1, 4
	h := startReady(t, cfg)
	p, code, body := h.workerPredict(map[string]any{})
	if code != http.StatusOK || p.CUDA != nil {
		t.Errorf("predict = %d %s, want CUDA_VISIBLE_DEVICES unset", code, body)
	}
}

// Health is 503 naming the worker still loading, while the ready one already
// serves; 200 once both are ready.
func TestHealthWaitsForEveryWorker(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "gate")
	cfg := testConfig(t, workersHandler)
	cfg.Workers, cfg.GPUs = 2, 2
	h := start(t, cfg, sidecar.WithWorkerEnv("HFPACK_TEST_LOAD_GATE="+gate))
	h.waitHealthReason(http.StatusServiceUnavailable, "1 of 2 workers not ready: worker 1 (CUDA_VISIBLE_DEVICES=1) loading")
	code, body := h.health()
	if code != http.StatusServiceUnavailable || strings.Contains(body, "worker 0 (") {
		t.Errorf("health = %d %s, want 503 naming only worker 1", code, body)
	}
	p, code, body := h.workerPredict(map[string]any{})
	if code != http.StatusOK || cuda(p) != "0" {
		t.Errorf("predict while worker 1 loads = %d %s, want 200 from worker 0", code, body)
	}
	must(t, os.WriteFile(gate, nil, 0o644))
	h.waitHealth(http.StatusOK)
}

// A crash fails only the batch the crashed worker ran; the other worker
// finishes its own and keeps serving, and only the crashed one restarts.
func TestWorkerCrashRestartsOnlyThatWorker(t *testing.T) {
	cfg := testConfig(t, workersHandler)
	cfg.Workers = 3
	h := startReady(t, cfg)
	held, _, code, body := h.busyAndFree(t, map[string]any{"crash": true})
	if code == http.StatusOK {
		t.Fatalf("crashing request = %d %s, want an error", code, body)
	}
	h.waitHealthReason(http.StatusOK, `"state":"ready","restarts":1,`)
	_, body = h.health()
	var st struct {
		Restarts int
		Workers  []struct {
			Worker   int
			PID      int
			Restarts int
		}
	}
	must(t, json.Unmarshal([]byte(body), &st))
	if st.Restarts != 1 || len(st.Workers) != 3 {
		t.Fatalf("health = %s, want 3 workers and 1 restart", body)
	}
	for _, w := range st.Workers {
		if w.PID == held.PID && w.Restarts != 0 {
			t.Errorf("the worker that held a request (pid %d) restarted: %s", held.PID, body)
		}
	}
	for range 4 {
		if _, code, body := h.workerPredict(map[string]any{}); code != http.StatusOK {
			t.Errorf("predict after the crash = %d %s", code, body)
		}
	}
}

// A generation goes to the ready worker running the fewest: while one
// worker holds a stream, the next runs on the other, and
// max-concurrent-streams counts per worker.
func TestStreamsGoToAFreeWorker(t *testing.T) {
	cfg := testConfig(t, workersHandler+`
def generate(state, instance, parameters):
    yield os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")
    if parameters.get("hold"):
        while not os.path.exists(parameters["hold"]):
            time.sleep(0.005)
        yield "."
`)
	cfg.Workers, cfg.GPUs, cfg.MaxConcurrentStreams = 2, 2, 1
	h := startReady(t, cfg)
	hold := filepath.Join(t.TempDir(), "hold")
	resp, err := h.openStream(context.Background(), "/v1/chat/completions", chatBody("a", fmt.Sprintf(`"hold":%q`, hold), true))
	must(t, err)
	defer resp.Body.Close()
	r := sseReader{bufio.NewReader(resp.Body)}
	var first string
	for first == "" { // the role chunk may come alone
		ev, err := r.next()
		must(t, err)
		var c chunk
		must(t, json.Unmarshal([]byte(ev.data), &c))
		for _, ch := range c.Choices {
			if ch.Delta.Content != nil {
				first += *ch.Delta.Content
			}
		}
	}
	code, body := h.post("/v1/chat/completions", chatBody("b", "", false))
	must(t, os.WriteFile(hold, nil, 0o644))
	var out struct {
		Choices []struct {
			Message struct{ Content string }
		}
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil || len(out.Choices) != 1 {
		t.Fatalf("second generation = %d %s, want 200 while the first holds its worker", code, body)
	}
	got := []string{first, out.Choices[0].Message.Content}
	slices.Sort(got)
	if !slices.Equal(got, []string{"0", "1"}) {
		t.Errorf("the two generations ran with CUDA_VISIBLE_DEVICES %q, want one on each worker", got)
	}
	io.Copy(io.Discard, resp.Body)
}
