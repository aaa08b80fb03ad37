package sidecar_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar"
	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/gcs"
)

// An image without model files downloads them from AIP_STORAGE_URI before
// reporting ready.
func TestModelFromStorageURI(t *testing.T) {
	release := make(chan struct{})
	fake := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/storage/v1/b/bkt/o" && r.URL.Query().Get("prefix") == "models/m1/":
			json.NewEncoder(w).Encode(map[string]any{"items": []map[string]string{{"name": "models/m1/config.json", "size": "20"}}})
		case r.URL.Path == "/storage/v1/b/bkt/o/models/m1/config.json" && r.URL.Query().Get("alt") == "media":
			<-release
			w.Write([]byte(`{"model_type":"gcs"}`))
		default:
			http.NotFound(w, r)
		}
	})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	cfg := testConfig(t, testHandler+`
def postprocess(state, predictions, parameters):
    return [state["config"] for _ in predictions]
`)
	cfg.ModelDir = filepath.Join(t.TempDir(), "absent")
	cfg.StorageURI = "gs://bkt/models/m1"
	h := start(t, cfg, sidecar.WithGCSOptions(gcs.WithEndpoint(srv.URL), gcs.WithHTTPClient(srv.Client())))
	h.waitHealthReason(http.StatusServiceUnavailable, "downloading model from gs://bkt/models/m1")
	close(release)
	h.waitHealth(http.StatusOK)
	code, body := h.post("/predict", `{"instances":[1]}`)
	if code != 200 || !strings.Contains(body, `model_type`) || !strings.Contains(body, "gcs") {
		t.Errorf("predict = %d %s, want the downloaded config", code, body)
	}
}
