package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/e2e/harness"
)

// The bundled example's base is a local OCI layout (oci-layout:PATH). The
// BuildKit builder reads it through BuildKit's own oci-layout source from
// the client's content store, so the example builds with --builder
// buildkit, and --emit-llb writes a graph that does not depend on where
// the layout is; the image has the embedded builder's file tree.
func TestBuildKitLayoutBase(t *testing.T) {
	heavy(t)
	reg := harness.StartRegistry(t)
	bk := harness.StartBuildKit(t, harness.WithInsecureRegistry(reg.Addr))
	ix := startIndex(t)
	base := harness.Base(t, harness.DefaultBase())
	p := newProject(t, ix, "oci-layout:"+base.Layout)
	mustHfpack(t, p.Dir, nil, "lock", p.Manifest)

	// --emit-llb: the same bytes from a copy of the layout elsewhere.
	llbA := filepath.Join(p.Dir, "a.llb")
	digestA := strings.TrimSpace(mustHfpack(t, p.Dir, nil, "build", p.Manifest, "--emit-llb", llbA).stdout)
	moved := filepath.Join(t.TempDir(), "base")
	if err := os.CopyFS(moved, os.DirFS(base.Layout)); err != nil {
		t.Fatal(err)
	}
	q := newProject(t, ix, "oci-layout:"+moved)
	mustHfpack(t, q.Dir, nil, "lock", q.Manifest)
	llbB := filepath.Join(q.Dir, "b.llb")
	digestB := strings.TrimSpace(mustHfpack(t, q.Dir, nil, "build", q.Manifest, "--emit-llb", llbB).stdout)
	if !strings.HasPrefix(digestA, "sha256:") || digestA != digestB {
		t.Errorf("--emit-llb digests %q and %q: want one sha256 digest wherever the layout is", digestA, digestB)
	}

	bkFile, embFile := filepath.Join(p.Dir, "buildkit.digest"), filepath.Join(p.Dir, "embedded.digest")
	mustHfpack(t, p.Dir, nil, "build", p.Manifest, "--builder", "buildkit", "--buildkit-addr", bk.Addr,
		"--push", reg.Ref("sst2-layout-buildkit", ":e2e"), "--digest-file", bkFile)
	mustHfpack(t, p.Dir, nil, "build", p.Manifest, "--push", reg.Ref("sst2-layout", ":e2e"), "--digest-file", embFile)
	b := unpackRef(t, readDigestFile(t, bkFile, reg.Addr+"/sst2-layout-buildkit@"))
	emb := unpackRef(t, readDigestFile(t, embFile, reg.Addr+"/sst2-layout@"))
	if diff := cmp.Diff(fileTree(t, filepath.Join(emb.Dir, "rootfs")), fileTree(t, filepath.Join(b.Dir, "rootfs"))); diff != "" {
		t.Errorf("file tree of the BuildKit image on a layout base (-embedded +buildkit):\n%s", diff)
	}
	if diff := cmp.Diff(emb.Spec.Process, b.Spec.Process); diff != "" {
		t.Errorf("process of the BuildKit image on a layout base (-embedded +buildkit):\n%s", diff)
	}
}
