package builder_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hfpack/hfpack/builder/layer"
	"github.com/hfpack/hfpack/builder/publish"
)

// recorder wraps the in-memory registry and records requests.
type recorder struct {
	h    http.Handler
	mu   sync.Mutex
	reqs []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Method+" "+req.URL.Path+"?"+req.URL.RawQuery)
	r.mu.Unlock()
	r.h.ServeHTTP(w, req)
}

func (r *recorder) reset() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// uploaded returns the digests whose blob uploads completed.
func uploaded(reqs []string) []string {
	var out []string
	for _, r := range reqs {
		if !strings.HasPrefix(r, "PUT ") || !strings.Contains(r, "/blobs/uploads/") {
			continue
		}
		q, _ := url.ParseQuery(r[strings.Index(r, "?")+1:])
		out = append(out, q.Get("digest"))
	}
	sort.Strings(out)
	return out
}

func newRegistry(t *testing.T) (*recorder, string) {
	t.Helper()
	rec := &recorder{h: registry.New(registry.Logger(nopLog()))}
	s := httptest.NewServer(rec)
	t.Cleanup(s.Close)
	u, _ := url.Parse(s.URL)
	return rec, u.Host
}

var anon = publish.WithKeychain(authn.NewMultiKeychain())

// A handler-only change re-uploads one layer blob (plus the new config).
func TestHandlerChangePushesOneLayer(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	cacheDir := t.TempDir()
	rec, host := newRegistry(t)
	target := publish.Target{Kind: publish.Registry, Ref: host + "/hf/tiny:v1"}
	img, _, _ := build(t, p, cacheDir)
	if _, err := publish.Publish(context.Background(), img, target, anon); err != nil {
		t.Fatal(err)
	}
	first := uploaded(rec.reset())
	if len(first) != 8 { // base + 6 layers + config
		t.Errorf("cold push uploaded %d blobs, want 8: %q", len(first), first)
	}

	writeFile(t, p.dir, "handler.py", []byte("def predict(x):\n    return [x]\n"), 0o644)
	img, plan, r := build(t, p, cacheDir)
	if _, err := publish.Publish(context.Background(), img, target, anon); err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.ConfigName()
	var app v1.Hash
	for i, l := range r.Layers {
		if plan.Layers[i].Name == "app" {
			app = l.Digest
		}
	}
	want := []string{app.String(), cfg.String()}
	sort.Strings(want)
	if diff := cmp.Diff(want, uploaded(rec.reset())); diff != "" {
		t.Errorf("blobs uploaded after a handler change (-want +got):\n%s", diff)
	}
}

// Pushing next to the base reads only its manifest and config: no base layer
// is downloaded.
func TestPushDoesNotFetchBaseLayers(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	rec, host := newRegistry(t)
	bp, _ := layout.FromPath(baseDir)
	baseImg, err := bp.Image(baseDigest)
	if err != nil {
		t.Fatal(err)
	}
	baseRef, _ := name.ParseReference(host + "/nvidia/base:1")
	if err := remote.Write(baseRef, baseImg); err != nil {
		t.Fatal(err)
	}
	baseLayers, _ := baseImg.Layers()
	baseLayer, _ := baseLayers[0].Digest()
	rec.reset()

	p := newProject(t, baseDir, baseDigest)
	p.inputs.Base.Ref = host + "/nvidia/base:1"
	img, _, _ := build(t, p, t.TempDir())
	for _, repo := range []string{"nvidia/base", "hf/tiny"} {
		if _, err := publish.Publish(context.Background(), img, publish.Target{Kind: publish.Registry, Ref: host + "/" + repo + ":app"}, anon); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range rec.reset() {
		if strings.HasPrefix(r, "GET ") && strings.Contains(r, baseLayer.String()) {
			t.Errorf("base layer fetched: %s", r)
		}
	}
}

// Independent tools read the OCI layout and the pushed image.
func TestIndependentTools(t *testing.T) {
	skopeo, err1 := exec.LookPath("skopeo")
	umoci, err2 := exec.LookPath("umoci")
	if err1 != nil || err2 != nil {
		t.Skip("skopeo or umoci not installed (apt-get install -y skopeo umoci)")
	}
	baseDir, baseDigest := baseLayout(t)
	for _, weights := range []layer.Compression{layer.None, layer.Zstd} {
		t.Run(string(weights), func(t *testing.T) {
			p := newProject(t, baseDir, baseDigest)
			p.inputs.Compression.Weights = weights
			checkWithTools(t, p, skopeo, umoci, weights != layer.Zstd)
		})
	}
}

// checkWithTools checks p's image with skopeo and (when unpack is set, since
// Debian's umoci cannot read zstd layers) umoci.
func checkWithTools(t *testing.T, p *project, skopeo, umoci string, unpack bool) {
	img, plan, _ := build(t, p, t.TempDir())
	out := filepath.Join(t.TempDir(), "oci")
	if _, err := publish.Publish(context.Background(), img, publish.Target{Kind: publish.OCI, Path: out, Ref: "v1"}); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	run := func(name string, args ...string) string {
		t.Helper()
		b, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %q: %v\n%s", name, args, err, b)
		}
		return string(b)
	}
	if got := run(skopeo, "inspect", "--format", "{{.Digest}}", "oci:"+out+":v1"); strings.TrimSpace(got) != want.String() {
		t.Errorf("skopeo inspect oci: digest %q, want %s", got, want)
	}
	_, host := newRegistry(t)
	run(skopeo, "copy", "--dest-tls-verify=false", "--preserve-digests", "oci:"+out+":v1", "docker://"+host+"/hf/tiny:v1")
	if got := run(skopeo, "inspect", "--tls-verify=false", "--format", "{{.Digest}}", "docker://"+host+"/hf/tiny:v1"); strings.TrimSpace(got) != want.String() {
		t.Errorf("skopeo inspect of the pushed copy: digest %q, want %s", got, want)
	}

	if !unpack {
		return
	}
	bundle := filepath.Join(t.TempDir(), "bundle")
	run(umoci, "unpack", "--rootless", "--image", out+":v1", bundle)
	rootfs := filepath.Join(bundle, "rootfs")
	for _, l := range plan.Layers {
		for _, f := range l.Files {
			got := filepath.Join(rootfs, filepath.FromSlash(f.Path))
			if f.Linkname != "" {
				if target, err := os.Readlink(got); err != nil || target != f.Linkname {
					t.Errorf("/%s: link %q (%v), want %q", f.Path, target, err, f.Linkname)
				}
				continue
			}
			fi, err := os.Stat(got)
			if err != nil {
				t.Errorf("/%s: %v", f.Path, err)
				continue
			}
			h, _, _ := v1.SHA256(mustOpen(t, got))
			if fi.Size() != f.Size || h.Hex != f.SHA256 || fi.Mode().Perm() != f.Mode {
				t.Errorf("/%s: size %d sha256 %s mode %o, want %d %s %o", f.Path, fi.Size(), h.Hex, fi.Mode().Perm(), f.Size, f.SHA256, f.Mode)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(rootfs, "usr/lib/python3/site-packages/tiny/__init__.py")); err != nil {
		t.Errorf("installed wheel missing from rootfs: %v", err)
	}
}
