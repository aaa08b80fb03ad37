package commands

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"

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
