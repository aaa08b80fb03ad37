package sidecar_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar"
)

func TestWorkerCrashMidBatch(t *testing.T) {
	cfg := testConfig(t, testHandler)
	cfg.MaxBatchSize = 2
	cfg.MaxBatchDelay = sidecar.Duration(time.Minute) // the two requests must share a batch
	cfg.RestartBackoff = sidecar.Duration(300 * time.Millisecond)
	h := startReady(t, cfg)

	var wg sync.WaitGroup
	codes := make([]int, 2)
	bodies := make([]string, 2)
	for i, in := range []string{`{"crash":true}`, `"bystander"`} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], bodies[i] = h.post("/predict", `{"instances":[`+in+`]}`)
		}()
	}
	wg.Wait()
	for i := range codes {
		if codes[i] != http.StatusInternalServerError || !strings.Contains(errorField(t, bodies[i]), "worker exited") {
			t.Errorf("request %d in the crashed batch = %d %s, want 500 naming the worker's exit", i, codes[i], bodies[i])
		}
	}
	h.waitHealth(http.StatusServiceUnavailable)
	body := h.waitHealth(http.StatusOK)
	var st struct {
		Restarts  int
		LastError string `json:"last_error"`
	}
	json.Unmarshal([]byte(body), &st)
	if st.Restarts != 1 || !strings.Contains(st.LastError, "exit status 3") {
		t.Errorf("health after restart = %s, want restarts 1 and the exit status", body)
	}
	// Two requests, to fill a batch of the restarted worker.
	parallel(t, h, 2, func(i int) (string, []any) { return "", []any{"after"} })
	if v, _ := metric(h, "hfpack_worker_restarts_total"); v != 1 {
		t.Errorf("hfpack_worker_restarts_total = %v, want 1", v)
	}
}

func TestHangingHandlerTimesOut(t *testing.T) {
	cfg := testConfig(t, testHandler)
	cfg.MaxBatchSize = 1
	cfg.MaxBatchDelay = 0
	cfg.RequestTimeout = sidecar.Duration(time.Second)
	h := startReady(t, cfg)

	mark := filepath.Join(t.TempDir(), "busy")
	hung := make(chan int, 1)
	go func() {
		code, _ := h.post("/predict", `{"instances":[{"mark":"`+mark+`","hang":true}]}`)
		hung <- code
	}()
	waitFile(t, mark)
	// A request queued behind the hung one is answered or times out cleanly.
	code, body := h.post("/predict", `{"instances":["queued"]}`)
	if code != http.StatusOK && code != http.StatusGatewayTimeout {
		t.Errorf("request queued behind a hung batch = %d %s, want 200 or 504", code, body)
	}
	if c := <-hung; c != http.StatusGatewayTimeout {
		t.Errorf("hung request = %d, want 504", c)
	}
	h.waitHealthReason(http.StatusOK, `"restarts":1`) // the hung worker was replaced
	if _, err := h.predict("", "after"); err != nil {
		t.Errorf("predict after the hung worker was replaced: %v", err)
	}
}

func TestHandlerLoadFailure(t *testing.T) {
	cfg := testConfig(t, testHandler)
	cfg.RestartBackoff = sidecar.Duration(10 * time.Millisecond)
	cfg.RestartBackoffMax = sidecar.Duration(300 * time.Millisecond) // long enough to observe
	h := start(t, cfg, sidecar.WithWorkerEnv("HFPACK_TEST_LOAD_FAIL=1"))

	deadline := time.Now().Add(20 * time.Second)
	var body string
	for time.Now().Before(deadline) {
		var code int
		code, body = h.health()
		if code == http.StatusOK {
			t.Fatalf("health = 200 for a handler that cannot load")
		}
		if strings.Contains(body, "crash-loop") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range []string{"crash-loop", "RuntimeError: weights missing in model"} {
		if !strings.Contains(body, want) {
			t.Errorf("health = %s, want it to contain %q", body, want)
		}
	}
	code, resp := h.post("/predict", `{"instances":[1]}`)
	if code != http.StatusServiceUnavailable || !strings.Contains(resp, "weights missing") {
		t.Errorf("predict while the handler cannot load = %d %s, want 503 with the load error", code, resp)
	}
	if !strings.Contains(h.logs.String(), `"severity":"ERROR"`) {
		t.Errorf("crash loop was not logged at ERROR:\n%s", h.logs.String())
	}
}

func TestMissingHandlerFunctionIsALoadError(t *testing.T) {
	h := start(t, testConfig(t, "def load(model_dir):\n    return None\n"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body := h.health()
		if strings.Contains(body, "defines no predict() function") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health = %s, want the missing predict() named", body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestShutdownDrainsInFlightRequests(t *testing.T) {
	h := startReady(t, testConfig(t, testHandler))
	dir := t.TempDir()
	mark, release := filepath.Join(dir, "busy"), filepath.Join(dir, "release")
	type result struct {
		code int
		body string
	}
	res := make(chan result, 1)
	go func() {
		c, b := h.post("/predict", `{"instances":[{"mark":"`+mark+`","wait_for":"`+release+`"}]}`)
		res <- result{c, b}
	}()
	waitFile(t, mark) // the request is in the worker
	stopped := make(chan error, 1)
	go func() { stopped <- h.stop() }()
	// Draining: the listener is closed, the in-flight request still runs.
	deadline := time.Now().Add(10 * time.Second)
	for code, _ := h.health(); code != 0; code, _ = h.health() {
		if time.Now().After(deadline) {
			t.Fatalf("health still answers %d after shutdown began", code)
		}
		time.Sleep(5 * time.Millisecond)
	}
	must(t, os.WriteFile(release, nil, 0o644))
	if r := <-res; r.code != http.StatusOK {
		t.Errorf("in-flight request during shutdown = %d %s, want 200", r.code, r.body)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve after shutdown = %v, want nil", err)
	}
}

func TestThousandConcurrentRequestsLeakNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	cfg := testConfig(t, testHandler)
	cfg.MaxBatchSize = 64
	cfg.MaxQueue = 2000
	h := startReady(t, cfg)
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := h.predict("", i)
			if err == nil && string(p[0].Echo) != itoa(i) {
				err = errString("request " + itoa(i) + " got " + string(p[0].Echo))
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	// Settle: goroutines of closed connections exit asynchronously.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before+2 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before, %d after shutdown\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
