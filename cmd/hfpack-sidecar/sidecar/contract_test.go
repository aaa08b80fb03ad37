package sidecar_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPredictStatusCodes(t *testing.T) {
	cfg := testConfig(t, testHandler)
	cfg.MaxRequestBytes = 4096
	cfg.MaxJSONDepth = 32
	cfg.PredictRoute = "/v1/endpoints/123/deployedModels/456:predict"
	h := startReady(t, cfg)

	tests := []struct {
		name        string
		path        string
		contentType string
		body        string
		want        int
		wantErr     string // substring of the error message
	}{
		{"ok", "/predict", "application/json", `{"instances":[1,"two"],"parameters":{"k":1}}`, 200, ""},
		{"vertex route", cfg.PredictRoute, "application/json", `{"instances":[1]}`, 200, ""},
		{"charset and no parameters", "/predict", "application/json; charset=utf-8", `{"instances":[{"a":1}]}`, 200, ""},
		{"no content type", "/predict", "", `{"instances":[1]}`, 200, ""},
		{"empty instances", "/predict", "application/json", `{"instances":[]}`, 200, ""},
		{"malformed", "/predict", "application/json", `{"instances":[1,}`, 400, "malformed JSON"},
		{"truncated", "/predict", "application/json", `{"instances":[1,2`, 400, "malformed JSON"},
		{"empty body", "/predict", "application/json", ``, 400, "empty"},
		{"missing instances", "/predict", "application/json", `{"inputs":[1]}`, 400, `no "instances"`},
		{"null instances", "/predict", "application/json", `{"instances":null}`, 400, `no "instances"`},
		{"instances not array", "/predict", "application/json", `{"instances":{"a":1}}`, 400, "must be a JSON array"},
		{"parameters not object", "/predict", "application/json", `{"instances":[1],"parameters":[1]}`, 400, `"parameters" must be`},
		{"top-level array", "/predict", "application/json", `[1,2]`, 400, "must be a JSON object"},
		{"trailing garbage", "/predict", "application/json", `{"instances":[1]} x`, 400, "malformed JSON"},
		{"non-UTF-8", "/predict", "application/json", "{\"instances\":[\"\xff\xfe\"]}", 400, "UTF-8"},
		{"deeply nested", "/predict", "application/json", `{"instances":[` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `]}`, 400, "nests deeper"},
		{"oversized", "/predict", "application/json", `{"instances":["` + strings.Repeat("x", 5000) + `"]}`, 413, "exceeds 4096 bytes"},
		{"wrong content type", "/predict", "text/plain", `{"instances":[1]}`, 415, "application/json"},
		{"form content type", "/predict", "application/x-www-form-urlencoded", `{"instances":[1]}`, 415, "application/json"},
		{"handler raises", "/predict", "application/json", `{"instances":[{"raise":"x7"}]}`, 500, "ValueError: bad instance x7"},
		{"wrong prediction count", "/predict", "application/json", `{"instances":[1,{"short":true}]}`, 500, "returned 1 predictions for 2 instances"},
		{"unknown route", "/nope", "application/json", `{"instances":[1]}`, 404, "no route"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := h.do(tc.path, tc.contentType, tc.body)
			if code != tc.want {
				t.Fatalf("POST %s = %d %s, want %d", tc.path, code, body, tc.want)
			}
			if tc.want == 200 {
				var out struct{ Predictions []json.RawMessage }
				if err := json.Unmarshal([]byte(body), &out); err != nil || out.Predictions == nil {
					t.Errorf("body %s is not {\"predictions\": [...]}", body)
				}
				return
			}
			if msg := errorField(t, body); !strings.Contains(msg, tc.wantErr) {
				t.Errorf("error = %q, want it to contain %q", msg, tc.wantErr)
			}
			if strings.Contains(body, "Traceback") {
				t.Errorf("error %s leaks a traceback outside debug mode", body)
			}
		})
	}
	t.Run("GET predict", func(t *testing.T) {
		resp, err := http.Get(h.url + "/predict")
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /predict = %d, want 405", resp.StatusCode)
		}
	})
}

func TestPredictEchoesInOrderWithParameters(t *testing.T) {
	h := startReady(t, testConfig(t, testHandler))
	got, err := h.predict(`{"top_k": 2}`, "a", 2, map[string]any{"c": 3})
	must(t, err)
	var echoes []string
	for _, p := range got {
		echoes = append(echoes, string(p.Echo))
		if diff := cmp.Diff(map[string]any{"top_k": 2.0}, p.Params); diff != "" {
			t.Errorf("parameters (-want +got):\n%s", diff)
		}
	}
	if diff := cmp.Diff([]string{`"a"`, `2`, `{"c":3}`}, echoes); diff != "" {
		t.Errorf("predictions (-want +got):\n%s", diff)
	}
}

func TestHealthRoutes(t *testing.T) {
	cfg := testConfig(t, testHandler)
	cfg.HealthRoute = "/v1/endpoints/1/deployedModels/2"
	h := startReady(t, cfg)
	for _, path := range []string{"/health", cfg.HealthRoute} {
		resp, err := h.client.Get(h.url + path)
		must(t, err)
		var st struct{ State string }
		json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if resp.StatusCode != 200 || st.State != "ready" {
			t.Errorf("GET %s = %d state %q, want 200 ready", path, resp.StatusCode, st.State)
		}
	}
}

func TestDebugReturnsTraceback(t *testing.T) {
	cfg := testConfig(t, testHandler)
	cfg.Debug = true
	h := startReady(t, cfg)
	code, body := h.post("/predict", `{"instances":[{"raise":"y"}]}`)
	var e struct{ Error, Traceback string }
	json.Unmarshal([]byte(body), &e)
	if code != 500 || !strings.Contains(e.Traceback, "Traceback (most recent call last)") || !strings.Contains(e.Traceback, "bad instance y") {
		t.Errorf("POST in debug = %d %s, want 500 with the handler's traceback", code, body)
	}
}

func TestQueueFullIsRefused(t *testing.T) {
	cfg := testConfig(t, testHandler)
	cfg.MaxBatchSize, cfg.MaxQueue, cfg.MaxBatchDelay = 1, 1, 0
	h := startReady(t, cfg)
	dir := t.TempDir()
	mark, release := filepath.Join(dir, "busy"), filepath.Join(dir, "release")
	first := make(chan int, 1)
	go func() {
		code, _ := h.post("/predict", `{"instances":[{"mark":"`+mark+`","wait_for":"`+release+`"}]}`)
		first <- code
	}()
	waitFile(t, mark) // the worker is busy with the first request until release exists
	second := make(chan int, 1)
	go func() {
		code, _ := h.post("/predict", `{"instances":[1]}`)
		second <- code
	}()
	waitMetric(t, h, "hfpack_queue_depth", 1)
	code, body := h.post("/predict", `{"instances":[2]}`)
	if code != http.StatusTooManyRequests {
		t.Errorf("request with a full queue = %d %s, want 429", code, body)
	}
	must(t, os.WriteFile(release, nil, 0o644))
	if c := <-first; c != 200 {
		t.Errorf("first request = %d, want 200", c)
	}
	if c := <-second; c != 200 {
		t.Errorf("queued request = %d, want 200", c)
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitMetric(t *testing.T, h *harness, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, ok := metric(h, name)
		if ok && v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metric %s = %v, waited for %v", name, v, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// metric reads one unlabelled series from /metrics.
func metric(h *harness, name string) (float64, bool) {
	resp, err := h.client.Get(h.url + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// The "worker ready" log line says where the start went: the time the
// worker spent importing the handler and in its load().
func TestReadyLogSaysWhereTheStartWent(t *testing.T) {
	h := startReady(t, testConfig(t, `
import time

def load(model_dir):
    time.sleep(0.3)

def predict(state, instances, parameters):
    return instances
`))
	for _, line := range strings.Split(h.logs.String(), "\n") {
		var l struct {
			Message              string  `json:"message"`
			HandlerImportSeconds float64 `json:"handler_import_seconds"`
			HandlerLoadSeconds   float64 `json:"handler_load_seconds"`
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.Message != "worker ready" {
			continue
		}
		if l.HandlerLoadSeconds < 0.3 || l.HandlerImportSeconds <= 0 || l.HandlerImportSeconds > l.HandlerLoadSeconds {
			t.Errorf("worker ready: handler_import_seconds %v, handler_load_seconds %v; want load() >= 0.3s", l.HandlerImportSeconds, l.HandlerLoadSeconds)
		}
		return
	}
	t.Fatalf("no worker ready line in the log:\n%s", h.logs.String())
}
