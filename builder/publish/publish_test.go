package publish

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

var fast = WithRetryBackoff(remote.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 5})

func anon() Option { return WithKeychain(authn.NewMultiKeychain()) }

func testImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(1024, 3)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func host(t *testing.T, s *httptest.Server) string {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func TestPushWithProgress(t *testing.T) {
	s := httptest.NewServer(registry.New(registry.Logger(nopLogger())))
	defer s.Close()
	img := testImage(t)
	ch := make(chan v1.Update, 100)
	var updates []v1.Update
	done := make(chan struct{})
	go func() {
		for u := range ch {
			updates = append(updates, u)
		}
		close(done)
	}()
	ref := host(t, s) + "/hf/tiny:v1"
	got, err := Publish(context.Background(), img, Target{Kind: Registry, Ref: ref}, WithProgress(ch), anon())
	if err != nil {
		t.Fatal(err)
	}
	<-done
	want, _ := img.Digest()
	if got != want {
		t.Errorf("Publish() = %s, want %s", got, want)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := pulled.Digest(); d != want {
		t.Errorf("pulled digest %s, want %s", d, want)
	}
	var last int64
	for _, u := range updates {
		if u.Complete < last {
			t.Errorf("progress went back from %d to %d", last, u.Complete)
		}
		last = u.Complete
	}
	if len(updates) == 0 || updates[len(updates)-1].Complete != updates[len(updates)-1].Total {
		t.Errorf("last progress update %+v, want complete == total", updates)
	}
}

// A registry that answers 500 to the first uploads recovers: the push succeeds.
func TestPushRetriesServerErrors(t *testing.T) {
	reg := registry.New(registry.Logger(nopLogger()))
	var failures atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/uploads") && failures.Add(1) <= 3 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer s.Close()
	img := testImage(t)
	if _, err := Publish(context.Background(), img, Target{Kind: Registry, Ref: host(t, s) + "/hf/tiny:v1"}, fast, anon(), WithJobs(1)); err != nil {
		t.Fatalf("Publish() after transient 500s = %v", err)
	}
	if n := failures.Load(); n <= 3 {
		t.Errorf("registry saw %d upload requests, want retries after 3 failures", n)
	}
}

func TestPushFailsOnPersistentErrors(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer s.Close()
	_, err := Publish(context.Background(), testImage(t), Target{Kind: Registry, Ref: host(t, s) + "/hf/tiny:v1"}, fast, anon())
	if err == nil || !strings.Contains(err.Error(), "registry:") {
		t.Errorf("Publish() = %v, want an error naming the target", err)
	}
}

func TestOCILayout(t *testing.T) {
	img := testImage(t)
	dir := filepath.Join(t.TempDir(), "out")
	for i := range 2 { // the second write replaces the first
		if _, err := Publish(context.Background(), img, Target{Kind: OCI, Path: dir}); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	ii, _ := p.ImageIndex()
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != want || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "latest" {
		t.Errorf("index %+v, want one image %s named latest", im.Manifests, want)
	}
	assertOnly(t, filepath.Dir(dir), "out")
}

func TestDockerArchive(t *testing.T) {
	img := testImage(t)
	file := filepath.Join(t.TempDir(), "img.tar")
	if _, err := Publish(context.Background(), img, Target{Kind: DockerArchive, Path: file, Ref: "example.com/tiny:v1"}); err != nil {
		t.Fatal(err)
	}
	tag := name.MustParseReference("example.com/tiny:v1").(name.Tag)
	got, err := tarball.ImageFromPath(file, &tag)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Layers()
	gotLayers, _ := got.Layers()
	if len(gotLayers) != len(want) {
		t.Errorf("archive has %d layers, want %d", len(gotLayers), len(want))
	}
	assertOnly(t, filepath.Dir(file), "img.tar")
}

// A failure half-way leaves nothing at the final path and no temporary files.
func TestFailedWriteLeavesNothing(t *testing.T) {
	broken, err := mutate.AppendLayers(testImage(t), brokenLayer{})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []Kind{OCI, DockerArchive} {
		t.Run(string(kind), func(t *testing.T) {
			dir := t.TempDir()
			_, err := Publish(context.Background(), broken, Target{Kind: kind, Path: filepath.Join(dir, "out")})
			if err == nil {
				t.Fatal("Publish() of a broken image = nil error")
			}
			assertOnly(t, dir)
		})
	}
}

func TestCancelledWriteLeavesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, kind := range []Kind{OCI, DockerArchive} {
		t.Run(string(kind), func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Publish(ctx, testImage(t), Target{Kind: kind, Path: filepath.Join(dir, "out")}); !errors.Is(err, context.Canceled) {
				t.Errorf("Publish() = %v, want context.Canceled", err)
			}
			assertOnly(t, dir)
		})
	}
}

// assertOnly fails unless dir holds exactly the named entries.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}

type brokenLayer struct{ v1.Layer }

var errBroken = errors.New("disk on fire")

func (brokenLayer) Digest() (v1.Hash, error) {
	return v1.NewHash("sha256:" + strings.Repeat("a", 64))
}
func (brokenLayer) DiffID() (v1.Hash, error) {
	return v1.NewHash("sha256:" + strings.Repeat("b", 64))
}
func (brokenLayer) Size() (int64, error) { return 10, nil }
func (brokenLayer) MediaType() (typesMediaType, error) {
	return "application/vnd.oci.image.layer.v1.tar", nil
}
func (brokenLayer) Compressed() (io.ReadCloser, error)   { return nil, errBroken }
func (brokenLayer) Uncompressed() (io.ReadCloser, error) { return nil, errBroken }
