package publish

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// uploads counts the blob uploads a registry completes, by digest, and
// notes when the first manifest arrives.
type uploads struct {
	mu             sync.Mutex
	done           map[string]int
	beforeManifest int
	manifest       bool
	next           http.Handler
}

func (u *uploads) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	switch {
	case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/"):
		d := r.URL.Query().Get("digest")
		u.done[d]++
		if !u.manifest {
			u.beforeManifest++
		}
	case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/"):
		u.manifest = true
	}
	u.mu.Unlock()
	u.next.ServeHTTP(w, r)
}

// Layers pushed early are uploaded once, before any manifest: the image's
// push then sends only its config and manifest.
func TestPrepushThenPublishUploadsEachLayerOnce(t *testing.T) {
	up := &uploads{done: map[string]int{}, next: registry.New(registry.Logger(nopLogger()))}
	s := httptest.NewServer(up)
	defer s.Close()
	img := testImage(t)
	target := Target{Kind: Registry, Ref: host(t, s) + "/hf/tiny:v1"}
	pre, err := NewPrepush(context.Background(), target, anon(), fast)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		pre.Add(l)
		pre.Add(l) // a second Add of the same blob is a no-op
	}
	if err := pre.Wait(); err != nil {
		t.Fatal(err)
	}
	if up.beforeManifest != len(layers) {
		t.Errorf("%d blobs uploaded before the manifest, want the %d layers", up.beforeManifest, len(layers))
	}
	if _, err := Publish(context.Background(), img, target, anon(), fast); err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		d, _ := l.Digest()
		if n := up.done[d.String()]; n != 1 {
			t.Errorf("layer %s uploaded %d times, want once", d, n)
		}
	}
	cfg, _ := img.ConfigName()
	if n := up.done[cfg.String()]; n != 1 {
		t.Errorf("config uploaded %d times, want once", n)
	}
}

// A failed early push reports the registry and the layer; Cancel stops
// the rest; only registries take early pushes.
func TestPrepushErrors(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"errors":[{"code":"DENIED","message":"no"}]}`, http.StatusForbidden)
	}))
	defer s.Close()
	pre, err := NewPrepush(context.Background(), Target{Kind: Registry, Ref: host(t, s) + "/hf/tiny:v1"}, anon(), fast)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := testImage(t).Layers()
	pre.Add(layers[0])
	if err := pre.Wait(); err == nil || !strings.Contains(err.Error(), "pushing layer sha256:") {
		t.Errorf("Wait() = %v, want the failed layer's error", err)
	}
	pre, err = NewPrepush(context.Background(), Target{Kind: Registry, Ref: host(t, s) + "/hf/tiny:v1"}, anon(), fast)
	if err != nil {
		t.Fatal(err)
	}
	pre.Add(layers[1])
	pre.Cancel()
	if _, err := NewPrepush(context.Background(), Target{Kind: OCI, Path: t.TempDir()}); !errors.Is(err, ErrBadTarget) {
		t.Errorf("NewPrepush(oci:DIR) = %v, want ErrBadTarget", err)
	}
}
