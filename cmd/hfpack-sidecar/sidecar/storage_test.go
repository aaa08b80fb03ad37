package sidecar_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar"
	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/gcs"
	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/gcs/gcstest"
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

// A download reports its progress in the 503 body while it runs, and an
// interrupted one (its staging directory left in the model directory) is
// resumed rather than taken for a model the image carries.
func TestStorageDownloadProgressAndResume(t *testing.T) {
	s := gcstest.New(gcstest.Options{BytesPerSecond: 1 << 20})
	defer s.Close()
	weights := gcstest.Pattern(4<<20, 7)
	s.Put("bkt", "models/m1/config.json", gcstest.Bytes([]byte(`{"model_type":"gcs"}`)))
	s.Put("bkt", "models/m1/model.safetensors", weights)

	cfg := testConfig(t, testHandler+`
def postprocess(state, predictions, parameters):
    return [state["config"] for _ in predictions]
`)
	cfg.ModelDir = filepath.Join(t.TempDir(), "model")
	// What a killed earlier attempt leaves: one file verified and in place.
	if err := os.MkdirAll(filepath.Join(cfg.ModelDir, gcs.StageDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.ModelDir, "config.json"), []byte(`{"model_type":"gcs"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.StorageURI = "gs://bkt/models/m1"
	h := start(t, cfg, sidecar.WithGCSOptions(gcs.WithEndpoint(s.URL), gcs.WithHTTPClient(s.Client()), gcs.WithChunkSize(512<<10), gcs.WithConcurrency(2)))
	h.waitHealthReason(http.StatusServiceUnavailable, "of 4.0 MiB (")
	h.waitHealthReason(http.StatusServiceUnavailable, "1 of 2 files")
	h.waitHealth(http.StatusOK)
	got, err := os.ReadFile(filepath.Join(cfg.ModelDir, "model.safetensors"))
	if err != nil || !bytes.Equal(got, readContent(weights)) {
		t.Errorf("model.safetensors after the download: %d bytes, %v; want the object's %d", len(got), err, weights.Size())
	}
	if s.MediaBytes() != weights.Size() {
		t.Errorf("the stand-in sent %d bytes, want only the missing weights (%d)", s.MediaBytes(), weights.Size())
	}
	if _, err := os.Stat(filepath.Join(cfg.ModelDir, gcs.StageDir)); !os.IsNotExist(err) {
		t.Errorf("staging directory left in the model directory: %v", err)
	}
}

func readContent(c gcstest.Content) []byte {
	b := make([]byte, c.Size())
	c.ReadAt(b, 0)
	return b
}
