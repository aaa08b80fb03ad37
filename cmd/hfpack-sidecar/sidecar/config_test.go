package sidecar_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar"
)

func TestParseArgsPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := sidecar.Config{
		Port:          9000,
		PredictRoute:  "/file:predict",
		WorkerDir:     "/opt/hfpack/worker",
		ModelDir:      "/opt/hfpack/model",
		Handler:       "handler.py",
		Task:          "text-classification",
		MaxBatchSize:  16,
		MaxBatchDelay: sidecar.Duration(7 * time.Millisecond),
	}
	b, err := json.Marshal(file)
	must(t, err)
	path := filepath.Join(dir, "sidecar.json")
	must(t, os.WriteFile(path, b, 0o644))
	env := map[string]string{"AIP_HTTP_PORT": "8081", "AIP_PREDICT_ROUTE": "/v1/x:predict", "AIP_HEALTH_ROUTE": "/v1/x"}

	got, err := sidecar.ParseArgs([]string{"--config", path, "--max-batch-size", "4", "--model", "rel/model"},
		func(k string) string { return env[k] }, &bytes.Buffer{})
	must(t, err)
	wd, _ := os.Getwd()
	want := file
	want.Port, want.PredictRoute, want.HealthRoute = 8081, "/v1/x:predict", "/v1/x"
	want.MaxBatchSize = 4
	want.ModelDir = filepath.Join(wd, "rel/model")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseArgs (-want +got):\n%s", diff)
	}
}

func TestConfigJSONKeys(t *testing.T) {
	in := `{"python":"/usr/bin/python3","worker-dir":"/opt/hfpack/worker","model-dir":"/opt/hfpack/model",
		"handler":"handler.py","task":"fill-mask","max-batch-size":4,"max-batch-delay":"5ms","request-timeout":"1m",
		"max-request-bytes":1024,"metrics-port":9090,"metrics-path":"/m","shutdown-grace":"20s","debug":true}`
	path := filepath.Join(t.TempDir(), "c.json")
	must(t, os.WriteFile(path, []byte(in), 0o644))
	got, err := sidecar.LoadConfig(path)
	must(t, err)
	want := sidecar.Config{
		Python: "/usr/bin/python3", WorkerDir: "/opt/hfpack/worker", ModelDir: "/opt/hfpack/model",
		Handler: "handler.py", Task: "fill-mask", MaxBatchSize: 4,
		MaxBatchDelay: sidecar.Duration(5 * time.Millisecond), RequestTimeout: sidecar.Duration(time.Minute),
		MaxRequestBytes: 1024, MetricsPort: 9090, MetricsPath: "/m", ShutdownGrace: sidecar.Duration(20 * time.Second), Debug: true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadConfig (-want +got):\n%s", diff)
	}
	out, err := json.Marshal(got)
	must(t, err)
	if !strings.Contains(string(out), `"max-batch-delay":"5ms"`) {
		t.Errorf("Marshal = %s, want durations as strings", out)
	}
}

func TestLoadConfigRejectsUnknownKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.json")
	must(t, os.WriteFile(path, []byte(`{"max_batch_size": 4}`), 0o644))
	if _, err := sidecar.LoadConfig(path); err == nil || !strings.Contains(err.Error(), "max_batch_size") {
		t.Errorf("LoadConfig with a snake_case key = %v, want an error naming it", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := map[string]sidecar.Config{
		"no model":      {},
		"bad route":     {ModelDir: "/m", PredictRoute: "predict"},
		"queue < batch": {ModelDir: "/m", MaxBatchSize: 8, MaxQueue: 2},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := sidecar.New(cfg); err == nil {
				t.Errorf("New(%+v) = nil error", cfg)
			}
		})
	}
}

func TestLoggerCloudShape(t *testing.T) {
	var buf bytes.Buffer
	log := sidecar.NewLogger(&buf, false)
	log.Warn("worker stopped", "restarts", 2)
	log.Debug("hidden")
	var got map[string]any
	must(t, json.Unmarshal(buf.Bytes(), &got))
	delete(got, "time")
	want := map[string]any{"severity": "WARNING", "message": "worker stopped", "restarts": 2.0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log line (-want +got):\n%s", diff)
	}
	if strings.Count(buf.String(), "\n") != 1 {
		t.Errorf("debug record logged without debug:\n%s", buf.String())
	}
}
