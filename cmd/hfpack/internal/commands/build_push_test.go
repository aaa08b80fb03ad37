package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hfpack/hfpack/builder/publish"
	"github.com/hfpack/hfpack/cmd/hfpack/internal/ui"
)

// A push whose blobs all went up but whose tag the registry refuses says
// it failed, never done.
func TestFailedPushNeverSaysDone(t *testing.T) {
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/v1") {
			http.Error(w, `{"errors":[{"code":"DENIED","message":"no"}]}`, http.StatusBadRequest)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer s.Close()
	img, err := random.Image(4096, 3)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	g := &globals{ui: ui.New(&out, &errb)}
	tgt := publish.Target{Kind: publish.Registry, Ref: strings.TrimPrefix(s.URL, "http://") + "/hf/x:v1"}
	if err := publishOne(context.Background(), g, img, tgt); err == nil {
		t.Fatal("publishOne() with a refused tag = nil error")
	}
	if strings.Contains(errb.String(), "done") || !strings.Contains(errb.String(), "failed") {
		t.Errorf("progress of a failed push:\n%s\nwant a failure and no done", errb.String())
	}
}

// build --push sends each of the image's blobs once, its own layers while
// it is still building (before the config, which only the finished image
// has), and the pushed image is the one built.
func TestBuildPushesLayersOnceWhileBuilding(t *testing.T) {
	manifest, _ := weightsProject(t, 1<<20)
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var mu sync.Mutex
	uploads := map[string]int{}
	var order []string
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") {
			d := r.URL.Query().Get("digest")
			mu.Lock()
			uploads[d]++
			order = append(order, d)
			mu.Unlock()
		}
		reg.ServeHTTP(w, r)
	}))
	defer s.Close()
	ref := strings.TrimPrefix(s.URL, "http://") + "/hf/x:v1"
	code, stdout, stderr := run(t, "build", manifest, "--cache-dir", t.TempDir(), "--sidecar", fakeSidecar(t), "--sbom=false", "--json", "--push", ref)
	if code != ExitOK {
		t.Fatalf("build --push: exit %d\n%s", code, stderr)
	}
	var res BuildResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d.String() != res.Digest {
		t.Errorf("pushed image %s, built %s", d, res.Digest)
	}
	cfg, _ := img.ConfigName()
	configAt := slices.Index(order, cfg.String())
	for i, l := range res.Layers {
		if uploads[l.Digest] != 1 {
			t.Errorf("layer %s (%s) uploaded %d times, want once", l.Name, l.Digest, uploads[l.Digest])
		}
		if at := slices.Index(order, l.Digest); !l.Cached && (at < 0 || at > configAt) {
			t.Errorf("layer %d %s uploaded at %d, after the config (%d): not while building", i, l.Name, at, configAt)
		}
	}
}
