package sidecar_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar"
)

// fakeTransformers stands in for the transformers package: pipeline()
// returns a callable that reports how it was built and called.
const fakeTransformers = `
def pipeline(task, model=None, device=None):
    def run(inputs, batch_size=None, **kwargs):
        return [{"task": task, "model": model, "device": device, "input": x,
                 "batch_size": batch_size, "kwargs": kwargs} for x in inputs]
    return run
`

func TestDefaultHandlerRunsPipeline(t *testing.T) {
	lib := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(lib, "transformers"), 0o755))
	must(t, os.WriteFile(filepath.Join(lib, "transformers", "__init__.py"), []byte(fakeTransformers), 0o644))
	cfg := testConfig(t, "")
	cfg.Handler = ""
	cfg.Task = "text-classification"
	h := startReady(t, cfg, sidecar.WithWorkerEnv("PYTHONPATH="+lib))

	code, body := h.post("/predict", `{"instances":["a","b"],"parameters":{"top_k":2}}`)
	if code != 200 {
		t.Fatalf("predict = %d %s", code, body)
	}
	var out struct{ Predictions []map[string]any }
	must(t, json.Unmarshal([]byte(body), &out))
	want := []map[string]any{
		{"task": "text-classification", "model": cfg.ModelDir, "device": -1.0, "input": "a", "batch_size": 2.0, "kwargs": map[string]any{"top_k": 2.0}},
		{"task": "text-classification", "model": cfg.ModelDir, "device": -1.0, "input": "b", "batch_size": 2.0, "kwargs": map[string]any{"top_k": 2.0}},
	}
	if diff := cmp.Diff(want, out.Predictions); diff != "" {
		t.Errorf("pipeline calls (-want +got):\n%s", diff)
	}
}
