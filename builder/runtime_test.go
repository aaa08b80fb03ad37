package builder_test

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/hfpack/hfpack/builder"
)

// TestRuntimeLayer adds a relocatable Python to a base without one: the
// runtime gets its own layer right above the base, symlinks kept, and the
// Plan names the archive it came from.
func TestRuntimeLayer(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	rt := t.TempDir()
	writeFile(t, rt, "bin/python3.11", []byte("#!interpreter\n"), 0o755)
	writeFile(t, rt, "lib/python3.11/os.py", []byte("# os\n"), 0o644)
	if err := os.Symlink("python3.11", filepath.Join(rt, "bin", "python3")); err != nil {
		t.Fatal(err)
	}
	p.inputs.Runtime = &builder.Runtime{Dir: rt, Prefix: "/opt/hfpack/python",
		URL: "https://example.com/cpython-3.11.tar.gz", SHA256: strings.Repeat("ab", 32)}
	img, plan, _ := build(t, p, t.TempDir())
	if plan.Layers[0].Name != builder.RuntimeLayerName {
		t.Fatalf("first layer = %s, want %s", plan.Layers[0].Name, builder.RuntimeLayerName)
	}
	if plan.Runtime == nil || plan.Runtime.URL != p.inputs.Runtime.URL {
		t.Errorf("plan.Runtime = %+v", plan.Runtime)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	base, _ := layoutLayers(t, baseDir)
	rc, err := layers[base].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name+" "+h.Linkname)
	}
	want := []string{"opt/ ", "opt/hfpack/ ", "opt/hfpack/python/ ", "opt/hfpack/python/bin/ ",
		"opt/hfpack/python/bin/python3 python3.11", "opt/hfpack/python/bin/python3.11 ",
		"opt/hfpack/python/lib/ ", "opt/hfpack/python/lib/python3.11/ ", "opt/hfpack/python/lib/python3.11/os.py "}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runtime layer entries (-want +got):\n%s", diff)
	}
}

func TestRuntimeMustBePinned(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	p.inputs.Runtime = &builder.Runtime{Dir: t.TempDir(), Prefix: "/opt/hfpack/python", URL: "https://example.com/py.tgz"}
	if _, err := builder.NewPlan(t.Context(), p.inputs); err == nil || !strings.Contains(err.Error(), "not pinned by sha256") {
		t.Errorf("NewPlan with an unpinned runtime = %v", err)
	}
}

// layoutLayers returns how many layers the base in the layout has.
func layoutLayers(t *testing.T, dir string) (int, error) {
	t.Helper()
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	ii, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := lp.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	return len(ls), err
}
