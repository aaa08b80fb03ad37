package builder_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/layer"
	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/internal/readcount"
)

// baseImage is an image of one layer per map, each holding its paths
// (".wh."-prefixed names are whiteouts).
func baseImage(t *testing.T, layers ...[]string) v1.Image {
	t.Helper()
	img := empty.Image
	for _, paths := range layers {
		tr := tree.New()
		for _, p := range paths {
			if err := tr.AddBytes(p, 0o755, []byte("base\n")); err != nil {
				t.Fatal(err)
			}
		}
		l, err := layer.Write(context.Background(), tr, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.Append(img, mutate.Addendum{Layer: l, MediaType: types.OCILayer}); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// wheelPlan plans the fixture project with one real wheel holding files.
func wheelPlan(t *testing.T, files map[string]string, unrecorded bool) (*builder.Plan, *cache.Cache) {
	t.Helper()
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	whl := makeWheel(t, "tiny", "1.0", files)
	if unrecorded {
		whl = addUnrecorded(t, whl, "tiny/extra.py")
	}
	wp := writeFile(t, p.dir, "wheels/tiny-1.0-py3-none-any.whl", whl, 0o644)
	p.inputs.Wheels[0].Path, p.inputs.Wheels[0].SHA256, p.inputs.Wheels[0].Size = wp, sha(whl), int64(len(whl))
	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	plan, err := builder.NewPlan(context.Background(), p.inputs, builder.WithCache(c))
	if err != nil {
		t.Fatal(err)
	}
	return plan, c
}

// A wheel's script named python3 goes to /usr/local/bin (Debian's
// posix_local), never over the base's /usr/bin/python3; a wheel file that
// would replace a base file is refused, naming the wheel and the base.
func TestCheckWheelsRefusesReplacingBaseFiles(t *testing.T) {
	ctx := context.Background()
	base := baseImage(t,
		[]string{"usr/bin/python3", "usr/lib/python3/site-packages/six.py", "usr/local/bin/gone"},
		[]string{"usr/local/bin/.wh.gone"})

	plan, c := wheelPlan(t, map[string]string{"tiny/__init__.py": "", "tiny-1.0.data/scripts/python3": "#!python\n", "tiny-1.0.data/scripts/gone": "x"}, false)
	if _, err := builder.CheckWheels(ctx, plan, base, c); err != nil {
		t.Errorf("CheckWheels() of a wheel with a python3 script = %v, want it installed beside the base's", err)
	}

	plan, c = wheelPlan(t, map[string]string{"six.py": "# not the base's\n"}, false)
	_, err := builder.CheckWheels(ctx, plan, base, c)
	if !errors.Is(err, builder.ErrReplacesImageFile) {
		t.Fatalf("CheckWheels() of a wheel replacing a base file = %v, want ErrReplacesImageFile", err)
	}
	for _, want := range []string{"tiny-1.0-py3-none-any.whl", "/usr/lib/python3/site-packages/six.py", "the base image"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	// The base's file list is remembered per layer.
	memos, _ := filepath.Glob(filepath.Join(c.Dir(), "basefiles", "*.json"))
	if len(memos) != 2 {
		t.Fatalf("%d remembered layer file lists, want 2", len(memos))
	}
	// Reading a remembered list records its use, for a prune.
	month := time.Now().Add(-30 * 24 * time.Hour)
	for _, m := range memos {
		if err := os.Chtimes(m, month, month); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = builder.CheckWheels(ctx, plan, base, c) // refused again, after reading the lists
	for _, m := range memos {
		if fi, err := os.Stat(m); err != nil || time.Since(fi.ModTime()) > time.Hour {
			t.Errorf("%s: not marked as used when read (%v)", m, err)
		}
	}
}

// Members missing from RECORD are installed, with a warning naming the
// wheel and the files.
func TestCheckWheelsWarnsOfUnrecordedMembers(t *testing.T) {
	plan, c := wheelPlan(t, map[string]string{"tiny/__init__.py": ""}, true)
	warnings, err := builder.CheckWheels(context.Background(), plan, baseImage(t, []string{"etc/os-release"}), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "tiny-1.0-py3-none-any.whl") || !strings.Contains(warnings[0], "tiny/extra.py") {
		t.Errorf("warnings = %q, want one naming tiny-1.0-py3-none-any.whl and tiny/extra.py", warnings)
	}
}

// addUnrecorded returns the wheel with one more member, not in its RECORD.
func addUnrecorded(t *testing.T, whl []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(whl), int64(len(whl)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	w, _ := zw.Create(name)
	w.Write([]byte("x = 1\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A build checks each wheel's sha256 once: the preflight's CheckWheels
// hashes it, and the layer's install, with the same cache, reads the wheel
// only to unpack it.
func TestBuildHashesWheelOnce(t *testing.T) {
	ctx := context.Background()
	big := make([]byte, 8<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	plan, c := wheelPlan(t, map[string]string{"tiny/__init__.py": "", "tiny/weights.bin": string(big)}, false)
	base := baseImage(t, []string{"usr/bin/python3"})
	if _, err := builder.CheckWheels(ctx, plan, base, c); err != nil {
		t.Fatal(err)
	}
	size := plan.Layers[0].Size
	before := readcount.Of(t)
	if _, err := builder.Build(ctx, plan, builder.WithCache(c), builder.WithBaseImage(base)); err != nil {
		t.Fatal(err)
	}
	read := readcount.Of(t) - before
	t.Logf("the build read %d bytes for a wheel of %d bytes", read, size)
	if read < size {
		t.Fatalf("the build read %d bytes, less than the wheel's %d: the count is wrong", read, size)
	}
	if read > size*3/2 {
		t.Errorf("the build read %d bytes for a wheel of %d bytes: it hashed the wheel again", read, size)
	}
}
