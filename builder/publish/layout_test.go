package publish

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// indexEntries reads dir's index.json as "name=digest" (name empty for
// artifacts).
func indexEntries(t *testing.T, dir string) []string {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	ii, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range im.Manifests {
		out = append(out, d.Annotations[refNameAnnotation]+"="+d.Digest.String())
		if d.Annotations[refNameAnnotation] != "" {
			// Every named image is complete and readable.
			img, err := p.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			layers, _ := img.Layers()
			for _, l := range layers {
				rc, err := l.Compressed()
				if err != nil {
					t.Fatalf("image %s: %v", d.Annotations[refNameAnnotation], err)
				}
				rc.Close()
			}
		}
	}
	return out
}

// ociImage is a random image with OCI media types, as hfpack builds
// (skopeo skips docker manifests in a layout's index).
func ociImage(t *testing.T) v1.Image {
	t.Helper()
	img := mutate.MediaType(testImage(t), types.OCIManifestSchema1)
	return mutate.ConfigMediaType(img, types.OCIConfigJSON)
}

func digestStr(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// oci:L:one then oci:L:two keeps both, as skopeo does; writing one again
// replaces only one, and the SBOM of the replaced image goes with it.
func TestOCILayoutKeepsOtherImages(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "L")
	one, two, oneAgain := ociImage(t), ociImage(t), ociImage(t)
	sbomOne, err := NewReferrer(one, "application/vnd.cyclonedx+json", []byte(`{"one":1}`), "sbom.json")
	if err != nil {
		t.Fatal(err)
	}
	sbomTwo, err := NewReferrer(two, "application/vnd.cyclonedx+json", []byte(`{"two":2}`), "sbom.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		img  v1.Image
		name string
		art  v1.Image
	}{{one, "one", sbomOne}, {two, "two", sbomTwo}} {
		if _, err := Publish(ctx, w.img, Target{Kind: OCI, Path: dir, Ref: w.name}, WithReferrers(w.art)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"one=" + digestStr(t, one), "=" + digestStr(t, sbomOne), "two=" + digestStr(t, two), "=" + digestStr(t, sbomTwo)}
	if got := indexEntries(t, dir); !slices.Equal(got, want) {
		t.Errorf("after oci:L:one and oci:L:two, index = %q, want %q", got, want)
	}
	skopeoInspect(t, dir, "one", digestStr(t, one))
	skopeoInspect(t, dir, "two", digestStr(t, two))

	// The same image again changes nothing.
	if _, err := Publish(ctx, two, Target{Kind: OCI, Path: dir, Ref: "two"}, WithReferrers(sbomTwo)); err != nil {
		t.Fatal(err)
	}
	if got := indexEntries(t, dir); !slices.Equal(got, want) {
		t.Errorf("after writing two again, index = %q, want %q", got, want)
	}
	// A new image named one replaces one and its SBOM only.
	if _, err := Publish(ctx, oneAgain, Target{Kind: OCI, Path: dir, Ref: "one"}); err != nil {
		t.Fatal(err)
	}
	want = []string{"one=" + digestStr(t, oneAgain), "two=" + digestStr(t, two), "=" + digestStr(t, sbomTwo)}
	if got := indexEntries(t, dir); !slices.Equal(got, want) {
		t.Errorf("after replacing one, index = %q, want %q", got, want)
	}
	skopeoInspect(t, dir, "one", digestStr(t, oneAgain))
	assertOnly(t, filepath.Dir(dir), "L")
}

// skopeoInspect checks with skopeo, where e2e/setup.sh installed it, that
// the layout's image name has digest.
func skopeoInspect(t *testing.T, dir, name, digest string) {
	t.Helper()
	if _, err := exec.LookPath("skopeo"); err != nil {
		return // go-containerregistry's layout package has read it
	}
	out, err := exec.Command("skopeo", "inspect", "--format", "{{.Digest}}", "oci:"+dir+":"+name).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo inspect oci:%s:%s: %v\n%s", dir, name, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != digest {
		t.Errorf("skopeo inspect oci:%s:%s = %s, want %s", dir, name, got, digest)
	}
}

// Pointed at a project directory, or any directory holding files that is
// not a layout, the build refuses and deletes nothing.
func TestOCILayoutRefusesOtherDirectories(t *testing.T) {
	project := t.TempDir()
	files := map[string]string{
		"hfpack.toml":        "name = \"x\"\n",
		"pylock.toml":        "lock-version = \"1.0\"\n",
		"model/config.json":  "{}",
		"oci-layout.bak":     "",
		"blobs/sha256/stray": "mine",
	}
	for name, content := range files {
		p := filepath.Join(project, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(project, "hfpack.toml")
	for _, target := range []string{project, file} {
		_, err := Publish(context.Background(), testImage(t), Target{Kind: OCI, Path: target})
		if !errors.Is(err, ErrNotLayout) {
			t.Errorf("Publish(oci:%s) = %v, want ErrNotLayout", target, err)
		}
	}
	for name, content := range files {
		b, err := os.ReadFile(filepath.Join(project, name))
		if err != nil || string(b) != content {
			t.Errorf("%s after the refused build: %q, %v; want %q", name, b, err, content)
		}
	}
	assertOnly(t, project, "blobs", "hfpack.toml", "model", "oci-layout.bak", "pylock.toml")
	assertOnly(t, filepath.Dir(project), filepath.Base(project))
}

// An empty directory becomes a layout.
func TestOCILayoutIntoEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	img := testImage(t)
	if _, err := Publish(context.Background(), img, Target{Kind: OCI, Path: dir}); err != nil {
		t.Fatal(err)
	}
	if got, want := indexEntries(t, dir), []string{"latest=" + digestStr(t, img)}; !slices.Equal(got, want) {
		t.Errorf("index = %q, want %q", got, want)
	}
}

// A failed write into an existing layout leaves it as it was: no entry in
// index.json, no temporary files.
func TestFailedWriteKeepsExistingLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "L")
	img := testImage(t)
	if _, err := Publish(context.Background(), img, Target{Kind: OCI, Path: dir, Ref: "one"}); err != nil {
		t.Fatal(err)
	}
	before := indexEntries(t, dir)
	broken, err := mutate.AppendLayers(testImage(t), brokenLayer{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(context.Background(), broken, Target{Kind: OCI, Path: dir, Ref: "two"}); !errors.Is(err, errBroken) {
		t.Fatalf("Publish(broken) = %v, want %v", err, errBroken)
	}
	if got := indexEntries(t, dir); !slices.Equal(got, before) {
		t.Errorf("index after a failed write = %q, want %q", got, before)
	}
	assertOnly(t, dir, "blobs", "index.json", "oci-layout")
	entries, _ := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary %s left in the layout", e.Name())
		}
	}
}

// Leftovers of a killed build (its process gone, so unheld) are removed by
// the next write; a concurrent build's temporaries (held) and the user's
// files are not.
func TestOCILayoutRemovesKilledBuildsLeftovers(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "L")
	if _, err := Publish(context.Background(), testImage(t), Target{Kind: OCI, Path: dir, Ref: "one"}); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour)
	mk := func(p string, isDir bool) string {
		t.Helper()
		var err error
		if isDir {
			err = os.MkdirAll(filepath.Join(p, "blobs"), 0o755)
		} else {
			err = os.WriteFile(p, make([]byte, 1024), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, past, past); err != nil {
			t.Fatal(err)
		}
		return p
	}
	killedLayout := mk(filepath.Join(parent, ".hfpack-oci-123"), true)
	killedBlob := mk(filepath.Join(dir, "blobs", "sha256", ".hfpack-blob-456"), false)
	killedIndex := mk(filepath.Join(dir, ".hfpack-index-789"), false)
	live := mk(filepath.Join(parent, ".hfpack-oci-live"), true)
	users := mk(filepath.Join(parent, ".hfpack-other"), true)
	release, err := leftoverHold(live)
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	if _, err := Publish(context.Background(), testImage(t), Target{Kind: OCI, Path: dir, Ref: "two"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{killedLayout, killedBlob, killedIndex} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("leftover %s still there (%v)", p, err)
		}
	}
	for _, p := range []string{live, users} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}

// A docker archive's temporary that a killed build left beside the target
// is removed by the next write of that target; another target's, a live
// one and the user's files are not.
func TestDockerArchiveRemovesKilledBuildsTemporary(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "img.tar")
	past := time.Now().Add(-time.Hour)
	mk := func(name string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, make([]byte, 1024), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, past, past); err != nil {
			t.Fatal(err)
		}
		return p
	}
	killed := mk(".tmp-img.tar-123")
	live := mk(".tmp-img.tar-456")
	other := mk(".tmp-other.tar-789")
	users := mk("img.tar.bak")
	release, err := leftoverHold(live)
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	if _, err := Publish(context.Background(), testImage(t), Target{Kind: DockerArchive, Path: file}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(killed); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover %s still there (%v)", killed, err)
	}
	for _, p := range []string{live, other, users, file} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// fileBacked is a layer whose compressed blob is also the file path.
type fileBacked struct {
	v1.Layer
	path string
}

func (l fileBacked) Path() string { return l.path }

// onDisk writes l's compressed blob to a file and returns the layer backed
// by it.
func onDisk(t *testing.T, l v1.Layer) fileBacked {
	t.Helper()
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return fileBacked{l, p}
}

// A layer that keeps its blob in a file (the build cache's, BuildKit's
// export store) is linked into an OCI layout, not copied; one whose file
// does not match its size is copied from its stream.
func TestOCILayoutLinksBlobFiles(t *testing.T) {
	l1, err := random.Layer(4096, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := random.Layer(4096, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	linked, stale := onDisk(t, l1), onDisk(t, l2)
	if err := os.WriteFile(stale.path, []byte("truncated"), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(ociImage(t), linked, stale)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "L")
	if _, err := Publish(context.Background(), img, Target{Kind: OCI, Path: dir}); err != nil {
		t.Fatal(err)
	}
	blob := func(l v1.Layer) string {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return filepath.Join(dir, "blobs", "sha256", d.Hex)
	}
	same := func(a, b string) bool {
		fa, errA := os.Stat(a)
		fb, errB := os.Stat(b)
		return errA == nil && errB == nil && os.SameFile(fa, fb)
	}
	if !same(blob(l1), linked.path) {
		t.Errorf("layer %s was copied into the layout, want a link to %s", blob(l1), linked.path)
	}
	if same(blob(l2), stale.path) {
		t.Errorf("layer %s is linked to a file of the wrong size", blob(l2))
	}
	// Every blob of the layout is what its name says.
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	got, err := p.Image(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Errorf("validate.Image(layout image) = %v", err)
	}
}
