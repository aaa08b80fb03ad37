package sidecar_test

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/templates"
)

// The layout the builder produces: the worker and the handler side by side
// in the worker directory, the handler named relative to it.
func TestImageLayout(t *testing.T) {
	cfg := testConfig(t, testHandler)
	workerDir := filepath.Join(t.TempDir(), "opt", "hfpack", "worker")
	must(t, os.CopyFS(workerDir, templates.Worker))
	src, err := os.ReadFile(cfg.Handler)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(workerDir, "handler.py"), src, 0o644))
	cfg.WorkerDir, cfg.Handler = workerDir, "handler.py"
	h := startReady(t, cfg)
	if _, err := h.predict("", "x"); err != nil {
		t.Error(err)
	}
}

func TestWorkerCommand(t *testing.T) {
	cfg := testConfig(t, testHandler)
	dir := t.TempDir()
	must(t, os.CopyFS(dir, templates.Worker))
	cfg.WorkerCommand = []string{cfg.Python, "-X", "utf8", filepath.Join(dir, templates.WorkerScript)}
	cfg.Python = "/nonexistent" // WorkerCommand replaces it
	h := startReady(t, cfg)
	if code, body := h.post("/predict", `{"instances":["é"]}`); code != http.StatusOK {
		t.Errorf("predict = %d %s", code, body)
	}
}

func TestMetricsOnTheirOwnPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := testConfig(t, testHandler)
	cfg.MetricsPort, cfg.MetricsPath = port, "/m"
	h := startReady(t, cfg)
	if _, err := h.predict("", 1, 2); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/m")
	must(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`hfpack_requests_total{code="200"} 1`, "hfpack_batch_size_sum 2", "hfpack_worker_ready 1", "hfpack_queue_depth 0", "hfpack_worker_restarts_total 0"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if code, _ := h.do("/m", "", ""); code != http.StatusNotFound {
		t.Errorf("metrics path on the main port = %d, want 404 when a metrics port is set", code)
	}
}
