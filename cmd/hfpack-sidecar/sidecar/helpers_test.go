package sidecar_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar"
)

// testHandler is a stdlib handler driven by its instances: dict instances
// may ask it to crash, hang, raise, sleep or return too few predictions.
const testHandler = `
import os, time

def load(model_dir):
    if os.environ.get("HFPACK_TEST_LOAD_FAIL"):
        raise RuntimeError("weights missing in " + os.path.basename(model_dir))
    with open(os.path.join(model_dir, "config.json")) as f:
        return {"config": f.read()}

def predict(state, instances, parameters):
    for x in instances:
        if isinstance(x, dict):
            if x.get("mark"):
                open(x["mark"], "w").close()
            if x.get("wait_for"):
                while not os.path.exists(x["wait_for"]):
                    time.sleep(0.005)
            if x.get("crash"):
                os._exit(3)
            if x.get("hang"):
                time.sleep(3600)
            if x.get("raise"):
                raise ValueError("bad instance " + str(x["raise"]))
            if x.get("sleep"):
                time.sleep(x["sleep"])
            if x.get("short"):
                return instances[:-1]
    return [{"echo": x, "batch": len(instances), "params": parameters} for x in instances]
`

// pred is one prediction of testHandler.
type pred struct {
	Echo   json.RawMessage `json:"echo"`
	Batch  int             `json:"batch"`
	Params map[string]any  `json:"params"`
}

var (
	pythonOnce sync.Once
	pythonPath string
)

// python returns the interpreter python3 on PATH runs, resolved once so that
// version-manager shims do not slow every worker start.
func python(t testing.TB) string {
	t.Helper()
	pythonOnce.Do(func() {
		out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
		if err == nil {
			pythonPath = strings.TrimSpace(string(out))
		}
	})
	if pythonPath == "" {
		t.Skip("python3 not on PATH")
	}
	return pythonPath
}

// harness is a real sidecar serving a real Python worker on 127.0.0.1.
type harness struct {
	t      testing.TB
	url    string
	sc     *sidecar.Sidecar
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
	client *http.Client
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testConfig returns a config with short timeouts for a handler source.
func testConfig(t testing.TB, handlerSrc string) sidecar.Config {
	t.Helper()
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	must(t, os.MkdirAll(model, 0o755))
	must(t, os.WriteFile(filepath.Join(model, "config.json"), []byte(`{"model_type":"test"}`), 0o644))
	h := filepath.Join(dir, "handler.py")
	must(t, os.WriteFile(h, []byte(handlerSrc), 0o644))
	return sidecar.Config{
		Host:              "127.0.0.1",
		Python:            python(t),
		ModelDir:          model,
		Handler:           h,
		MaxBatchSize:      8,
		MaxBatchDelay:     sidecar.Duration(2 * time.Millisecond),
		RequestTimeout:    sidecar.Duration(10 * time.Second),
		ShutdownGrace:     sidecar.Duration(10 * time.Second),
		RestartBackoff:    sidecar.Duration(20 * time.Millisecond),
		RestartBackoffMax: sidecar.Duration(100 * time.Millisecond),
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// start serves cfg; it does not wait for the worker.
func start(t testing.TB, cfg sidecar.Config, opts ...sidecar.Option) *harness {
	t.Helper()
	logs := &syncBuffer{}
	opts = append([]sidecar.Option{sidecar.WithLogger(sidecar.NewLogger(logs, true))}, opts...)
	sc, err := sidecar.New(cfg, opts...)
	must(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{
		t: t, url: "http://" + ln.Addr().String(), sc: sc, cancel: cancel, done: make(chan error, 1), logs: logs,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	}
	go func() { h.done <- sc.Serve(ctx, ln) }()
	t.Cleanup(func() {
		h.stop()
		if t.Failed() || os.Getenv("HFPACK_TEST_LOGS") != "" {
			t.Logf("sidecar logs:\n%s", logs.String())
		}
	})
	return h
}

// startReady serves cfg and waits for the health route to answer 200.
func startReady(t testing.TB, cfg sidecar.Config, opts ...sidecar.Option) *harness {
	t.Helper()
	h := start(t, cfg, opts...)
	h.waitHealth(http.StatusOK)
	return h
}

// stop shuts the sidecar down as SIGTERM would and returns Serve's error.
func (h *harness) stop() error {
	h.cancel()
	select {
	case err, ok := <-h.done:
		if ok {
			close(h.done)
		}
		h.client.CloseIdleConnections()
		return err
	case <-time.After(30 * time.Second):
		h.t.Errorf("Serve did not return 30s after shutdown")
		return nil
	}
}

// health returns the health route's status and body.
func (h *harness) health() (int, string) {
	resp, err := h.client.Get(h.url + "/health")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitHealth polls until health answers code (limit 20s, not a timing assertion).
func (h *harness) waitHealth(code int) string {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, body := h.health()
		if got == code {
			return body
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("health = %d %s, waited for %d", got, body, code)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitHealthReason polls until health answers code with a body containing reason.
func (h *harness) waitHealthReason(code int, reason string) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, body := h.health()
		if got == code && strings.Contains(body, reason) {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("health = %d %s, waited for %d with %q", got, body, code, reason)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// post sends body to path with a JSON content type.
func (h *harness) post(path, body string) (int, string) {
	return h.do(path, "application/json", body)
}

func (h *harness) do(path, contentType, body string) (int, string) {
	req, err := http.NewRequest(http.MethodPost, h.url+path, strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// predict posts instances to /predict and decodes a 200 answer.
func (h *harness) predict(params string, instances ...any) ([]pred, error) {
	in, _ := json.Marshal(instances)
	body := `{"instances":` + string(in)
	if params != "" {
		body += `,"parameters":` + params
	}
	code, resp := h.post("/predict", body+"}")
	if code != http.StatusOK {
		return nil, fmt.Errorf("predict = %d %s", code, resp)
	}
	var out struct{ Predictions []pred }
	if err := json.Unmarshal([]byte(resp), &out); err != nil {
		return nil, fmt.Errorf("decoding %s: %v", resp, err)
	}
	if len(out.Predictions) != len(instances) {
		return nil, fmt.Errorf("got %d predictions for %d instances", len(out.Predictions), len(instances))
	}
	return out.Predictions, nil
}

func errorField(t testing.TB, body string) string {
	t.Helper()
	var e struct{ Error string }
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
		t.Errorf("error body %q is not {\"error\": ...}", body)
	}
	return e.Error
}
