package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hfpack/hfpack/e2e/harness"
)

// Non-default Vertex routes: the image must honour AIP_* rather than hard-code /health, /predict.
const (
	healthRoute  = "/e2e/v1/models/sst2:health"
	predictRoute = "/e2e/v1/models/sst2:predict"
)

// TestHappyPathEmbedded is the user's whole path with the embedded (daemonless) builder: lock,
// check, build and push to a registry; then, with independent tools only (skopeo, umoci, runc),
// run the pushed image as its configured user with the Vertex environment and check the contract.
func TestHappyPathEmbedded(t *testing.T) {
	heavy(t)
	reg := harness.StartRegistry(t)
	ix := startIndex(t)
	p := newProject(t, ix, baseLayout(t))

	mustHfpack(t, p.Dir, nil, "lock", p.Manifest)
	mustHfpack(t, p.Dir, nil, "check", p.Manifest)
	digestFile := filepath.Join(p.Dir, "image.digest")
	r := mustHfpack(t, p.Dir, nil, "build", p.Manifest, "--push", reg.Ref("sst2", ":e2e"), "--digest-file", digestFile)
	ref := readDigestFile(t, digestFile, reg.Addr+"/sst2@")
	if got := strings.TrimSpace(r.stdout); !strings.HasSuffix(ref, "@"+got) {
		t.Errorf("build printed %q; the digest file holds %q", got, ref)
	}

	layoutDir, tag := harness.CopyToLayout(t, ref)
	b := harness.Unpack(t, layoutDir, tag)
	if u := b.Spec.Process.User; u.UID != 1000 || u.GID != 1000 {
		t.Errorf("the image runs as %d:%d, want 1000:1000", u.UID, u.GID)
	}
	serveAndProbe(t, b)

	t.Run("hfpack smoke", func(t *testing.T) { smokeImage(t, p.Dir, ref) })
}

// smokeImage checks `hfpack smoke` passes on a good image, printing every contract check, and
// fails naming the check when the image cannot answer the instances given.
func smokeImage(t *testing.T, dir, image string) {
	r := mustHfpack(t, dir, nil, "smoke", image, "--instances", `["a wonderful film", {"text": "awful, boring"}]`)
	for _, want := range []string{
		"ok  image", "as 1000:1000",
		"ok  health", "503 while loading, then 200",
		"ok  predict", "2 instances, 2 predictions", `"label":"POSITIVE"`,
		"ok  routes", "AIP_HEALTH_ROUTE=/hfpack-smoke/v1/health and AIP_PREDICT_ROUTE=/hfpack-smoke/v1/predict honoured",
		"ok  sigterm", "exit status 0",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("hfpack smoke did not print %q:\n%s", want, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "serves the Vertex AI contract") {
		t.Errorf("hfpack smoke stdout: %q", r.stdout)
	}

	bad := hfpack(t, dir, nil, "smoke", image, "--instances", `[42]`)
	wantRefused(t, bad, "serving contract broken", "/hfpack-smoke/v1/predict answered 500", "ValueError")
	if strings.Contains(bad.stderr, "ok  predict") {
		t.Errorf("hfpack smoke passed predict for an instance the handler rejects:\n%s", bad.stderr)
	}

	noTools := hfpack(t, dir, []string{"PATH=" + t.TempDir()}, "smoke", image)
	wantRefused(t, noTools, "runc, skopeo, umoci not found on PATH", "apt-get install runc skopeo umoci")
}

// readDigestFile returns the reference in a --digest-file, which must start with prefix.
func readDigestFile(t *testing.T, path, prefix string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading --digest-file: %v", err)
	}
	ref := strings.TrimSpace(string(raw))
	if !strings.HasPrefix(ref, prefix) || !strings.Contains(ref, "@sha256:") {
		t.Fatalf("--digest-file holds %q, want %s<sha256 digest>", ref, prefix)
	}
	return ref
}

// serveAndProbe runs the bundle with the Vertex environment and checks the serving contract:
// health 503 then 200 on AIP_HEALTH_ROUTE, predictions on AIP_PREDICT_ROUTE, the locked wheels'
// scripts inside the container, and a clean exit on SIGTERM.
func serveAndProbe(t *testing.T, b *harness.Bundle) {
	port := freePort(t)
	c := harness.Run(t, b, harness.WithEnv(
		"AIP_HTTP_PORT="+port, "AIP_HEALTH_ROUTE="+healthRoute, "AIP_PREDICT_ROUTE="+predictRoute))
	base := "http://127.0.0.1:" + port

	codes := pollHealth(t, c, base+healthRoute)
	if codes[0] != http.StatusServiceUnavailable {
		t.Errorf("health answered %v before the model loaded, want 503 first", codes)
	}

	t.Run("predict", func(t *testing.T) {
		got := predict(t, base+predictRoute, `{"instances": ["a wonderful, brilliant film", {"text": "the worst, most boring movie"}, "I love this masterpiece"], "parameters": {}}`)
		want := []string{"POSITIVE", "NEGATIVE", "POSITIVE"}
		var labels []string
		for i, p := range got {
			labels = append(labels, p.Label)
			if p.Score <= 0.5 || p.Score > 1 {
				t.Errorf("prediction %d: score %v, want in (0.5, 1]", i, p.Score)
			}
		}
		if diff := cmp.Diff(want, labels); diff != "" {
			t.Errorf("labels, one per instance in order (-want +got):\n%s", diff)
		}
	})
	t.Run("bad request", func(t *testing.T) {
		resp, err := http.Post(base+predictRoute, "application/json", strings.NewReader(`{"instancez": []}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a body without instances: status %d, want 400", resp.StatusCode)
		}
	})
	t.Run("console script", func(t *testing.T) {
		out, err := c.Exec(t.Context(), "demo-tokenize", "Hello, World!")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != "hello world" {
			t.Errorf("demo-tokenize in the container printed %q, want %q", got, "hello world")
		}
	})
	t.Run("data scripts and files", func(t *testing.T) {
		out, err := c.Exec(t.Context(), dataScript)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != dataGreeting {
			t.Errorf("%s printed %q, want %q", dataScript, got, dataGreeting)
		}
		// The larger members, which the embedded builder carries as the
		// wheel's own DEFLATE streams, arrive byte for byte.
		corpus, blob := dataCorpus()
		for file, want := range map[string][]byte{
			"hfpack_e2e_data.corpus": corpus, // a module: wherever site-packages is
			"data:" + dataBlob:       blob,   // under the scheme's data directory, where the script looks
		} {
			const hash = "import hashlib, importlib, os, sys, sysconfig; f = sys.argv[1]\n" +
				"if f.startswith('data:'): f = os.path.join(sysconfig.get_path('data'), f[5:])\n" +
				"else: f = importlib.import_module(f).__file__\n" +
				"print(hashlib.sha256(open(f, 'rb').read()).hexdigest())"
			out, err := c.Exec(t.Context(), "python3", "-c", hash, file)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.TrimSpace(string(out)), fmt.Sprintf("%x", sha256.Sum256(want)); got != want {
				t.Errorf("%s in the container has sha256 %s, want %s", file, got, want)
			}
		}
	})

	if err := c.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	code, err := c.Wait(ctx)
	if err != nil || code != 0 {
		t.Errorf("after SIGTERM the container exited %d (%v), want 0\n%s", code, err, c.Output())
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// pollHealth polls url until it answers 200 and returns the distinct status codes seen, in
// order (connection errors before the server listens are not codes).
func pollHealth(t *testing.T, c *harness.Container, url string) []int {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	var codes []int
	for {
		resp, err := client.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if len(codes) == 0 || codes[len(codes)-1] != resp.StatusCode {
				codes = append(codes, resp.StatusCode)
			}
			switch resp.StatusCode {
			case http.StatusOK:
				return codes
			case http.StatusServiceUnavailable:
			default:
				t.Fatalf("health answered %d (codes %v); want 503 while loading, then 200", resp.StatusCode, codes)
			}
		}
		select {
		case <-c.Exited():
			t.Fatalf("the container exited before it was healthy (codes %v):\n%s", codes, c.Output())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("not healthy after 60s (codes %v, last error %v):\n%s", codes, err, c.Output())
		}
	}
}

type prediction struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// predict posts a Vertex request and returns its predictions.
func predict(t *testing.T, url, body string) []prediction {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("predict: status %d: %s", resp.StatusCode, raw)
	}
	var out struct {
		Predictions []prediction `json:"predictions"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("predict: %v in %s", err, raw)
	}
	return out.Predictions
}

// TestHappyPathBuildKit is the happy path with the BuildKit (LLB) builder: the image it pushes
// serves the same contract, and its file tree equals the embedded builder's for the same project.
func TestHappyPathBuildKit(t *testing.T) {
	heavy(t)
	reg := harness.StartRegistry(t)
	bk := harness.StartBuildKit(t, harness.WithInsecureRegistry(reg.Addr))
	ix := startIndex(t)
	// The daemon pulls the base itself: from the registry, by digest.
	base := harness.Base(t, harness.DefaultBase()).Push(t, reg, "debian")
	p := newProject(t, ix, base.String())
	mustHfpack(t, p.Dir, nil, "lock", p.Manifest)

	bkFile, embFile := filepath.Join(p.Dir, "buildkit.digest"), filepath.Join(p.Dir, "embedded.digest")
	mustHfpack(t, p.Dir, nil, "build", p.Manifest, "--builder", "buildkit", "--buildkit-addr", bk.Addr,
		"--push", reg.Ref("sst2-buildkit", ":e2e"), "--digest-file", bkFile)
	mustHfpack(t, p.Dir, nil, "build", p.Manifest, "--push", reg.Ref("sst2", ":e2e"), "--digest-file", embFile)

	b := unpackRef(t, readDigestFile(t, bkFile, reg.Addr+"/sst2-buildkit@"))
	emb := unpackRef(t, readDigestFile(t, embFile, reg.Addr+"/sst2@"))
	if diff := cmp.Diff(fileTree(t, filepath.Join(emb.Dir, "rootfs")), fileTree(t, filepath.Join(b.Dir, "rootfs"))); diff != "" {
		t.Errorf("file tree of the BuildKit image (-embedded +buildkit):\n%s", diff)
	}
	if diff := cmp.Diff(emb.Spec.Process, b.Spec.Process); diff != "" {
		t.Errorf("process of the BuildKit image (-embedded +buildkit):\n%s", diff)
	}
	serveAndProbe(t, b)
	buildKitPublishesLikeEmbedded(t, p, bk.Addr, readDigestFile(t, bkFile, reg.Addr+"/sst2-buildkit@"))
}

// buildKitPublishesLikeEmbedded checks what the BuildKit path shares with the embedded one: the
// pushed tag names the image and its SBOM refers to it, --verify verifies, and an OCI layout keeps
// the images it already holds.
func buildKitPublishesLikeEmbedded(t *testing.T, p *project, addr, pushed string) {
	d, err := name.NewDigest(pushed)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	if im, _ := refs.IndexManifest(); im == nil || len(im.Manifests) != 1 {
		t.Errorf("referrers of the BuildKit image %s: %+v, want its SBOM", d, im)
	}
	tagged, err := remote.Head(d.Context().Tag("e2e"))
	if err != nil || tagged.Digest.String() != d.DigestStr() {
		t.Errorf("tag e2e = %v, %v; want %s", tagged, err, d.DigestStr())
	}
	bkArgs := []string{"build", p.Manifest, "--builder", "buildkit", "--buildkit-addr", addr}
	wantRefused(t, hfpack(t, p.Dir, nil, append(bkArgs, "--verify", "sha256:"+strings.Repeat("0", 64))...), "verification failed")
	if r := mustHfpack(t, p.Dir, nil, append(bkArgs, "--verify", d.DigestStr())...); strings.TrimSpace(r.stdout) != d.DigestStr() {
		t.Errorf("--verify %s printed %q", d.DigestStr(), r.stdout)
	}
	lay := filepath.Join(t.TempDir(), "L")
	mustHfpack(t, p.Dir, nil, "build", p.Manifest, "--output", "oci:"+lay+":embedded")
	mustHfpack(t, p.Dir, nil, append(bkArgs, "--output", "oci:"+lay+":buildkit")...)
	lp, err := layout.FromPath(lay)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range im.Manifests {
		names = append(names, m.Annotations["org.opencontainers.image.ref.name"])
	}
	if strings.Join(names, ",") != "embedded,,buildkit," {
		t.Errorf("layout names %q, want each image with its SBOM: embedded,,buildkit,", names)
	}
	// Pruned, the export store takes the daemon's blobs again, into the
	// same image.
	var pruned struct {
		Removed []struct{ Kind string }
		Blobs   int
	}
	if err := json.Unmarshal([]byte(mustHfpack(t, p.Dir, nil, "cache", "prune", "--all", "--json").stdout), &pruned); err != nil {
		t.Fatal(err)
	}
	images := 0
	for _, r := range pruned.Removed {
		if r.Kind == "image" {
			images++
		}
	}
	if images == 0 || pruned.Blobs == 0 {
		t.Errorf("cache prune --all removed %d exported images and %d blobs, want the BuildKit builds' images", images, pruned.Blobs)
	}
	again := filepath.Join(t.TempDir(), "again.digest")
	mustHfpack(t, p.Dir, nil, append(bkArgs, "--output", "oci:"+filepath.Join(t.TempDir(), "L2"), "--digest-file", again)...)
	if got, err := os.ReadFile(again); err != nil || strings.TrimSpace(string(got)) != d.DigestStr() {
		t.Errorf("BuildKit build after cache prune --all: digest %q (%v), want %s", got, err, d.DigestStr())
	}
}

// unpackRef copies a pushed image with skopeo and unpacks it with umoci.
func unpackRef(t *testing.T, ref string) *harness.Bundle {
	t.Helper()
	dir, tag := harness.CopyToLayout(t, ref)
	return harness.Unpack(t, dir, tag)
}
