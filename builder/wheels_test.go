package builder_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/cache"
)

// makeWheel returns a minimal valid pure-Python wheel.
func makeWheel(t *testing.T, name, version string, files map[string]string) []byte {
	t.Helper()
	di := name + "-" + version + ".dist-info/"
	files[di+"METADATA"] = fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", name, version)
	files[di+"WHEEL"] = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
	var record strings.Builder
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range sortedKeys(files) {
		w, err := zw.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(files[p]))
		sum := sha256.Sum256([]byte(files[p]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", p, base64.RawURLEncoding.EncodeToString(sum[:]), len(files[p]))
	}
	fmt.Fprintf(&record, "%sRECORD,,\n", di)
	w, _ := zw.Create(di + "RECORD")
	w.Write([]byte(record.String()))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// The default installer is wheelinstall: a real wheel lands in site-packages,
// and a wheel whose sha256 differs from the lock fails the build, named.
func TestDefaultWheelInstaller(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	whl := makeWheel(t, "tiny", "1.0", map[string]string{"tiny/__init__.py": "X = 1\n"})
	wp := writeFile(t, p.dir, "wheels/tiny-1.0-py3-none-any.whl", whl, 0o644)
	p.inputs.Wheels[0].Path, p.inputs.Wheels[0].SHA256, p.inputs.Wheels[0].Size = wp, sha(whl), int64(len(whl))
	p.inputs.Base.Python = "/usr/local/bin/python3.11"
	p.inputs.Base.SitePackages = "/usr/local/lib/python3.11/site-packages"
	c, _ := cache.Open(t.TempDir())
	ctx := context.Background()
	plan, err := builder.NewPlan(ctx, p.inputs, builder.WithCache(c))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := builder.Build(ctx, plan, builder.WithCache(c)); err != nil {
		t.Fatalf("Build() with a real wheel = %v", err)
	}
	l, ok, _ := c.Layer(plan.Layers[0].Key)
	if !ok {
		t.Fatal("site-packages layer not cached")
	}
	names := tarNames(t, l)
	want := []string{"usr/local/lib/python3.11/site-packages/tiny/__init__.py", "usr/local/lib/python3.11/site-packages/tiny-1.0.dist-info/RECORD"}
	for _, w := range want {
		if !contains(names, w) {
			t.Errorf("site-packages layer lacks %s; has %q", w, names)
		}
	}

	p.inputs.Wheels[0].SHA256 = strings.Repeat("e", 64)
	plan, err = builder.NewPlan(ctx, p.inputs, builder.WithCache(c))
	if err != nil {
		t.Fatal(err)
	}
	_, err = builder.Build(ctx, plan, builder.WithCache(c))
	if err == nil || !strings.Contains(err.Error(), "tiny-1.0-py3-none-any.whl") {
		t.Errorf("Build() with a wrong wheel hash = %v, want an error naming the wheel", err)
	}
}

// Scripts and data go where pip puts them for that Python: under the
// interpreter's prefix, or /usr/local for a Debian system Python, whose
// /usr/bin/python3 a wheel's script must never replace.
func TestSchemeFor(t *testing.T) {
	type scheme struct{ Purelib, Scripts, Data, Include, Interpreter string }
	for _, tc := range []struct {
		base builder.Base
		want scheme
	}{
		{builder.Base{Python: "/usr/local/bin/python3.11", SitePackages: "/usr/local/lib/python3.11/site-packages"},
			scheme{"usr/local/lib/python3.11/site-packages", "usr/local/bin", "usr/local", "usr/local/include/python3.11", "/usr/local/bin/python3.11"}},
		{builder.Base{Python: "/usr/bin/python3", SitePackages: "/usr/lib/python3/dist-packages"},
			scheme{"usr/lib/python3/dist-packages", "usr/local/bin", "usr/local", "usr/local/include/python3", "/usr/bin/python3"}},
		{builder.Base{Python: "/opt/hfpack/python/bin/python3.11", SitePackages: "/opt/hfpack/python/lib/python3.11/site-packages"},
			scheme{"opt/hfpack/python/lib/python3.11/site-packages", "opt/hfpack/python/bin", "opt/hfpack/python", "opt/hfpack/python/include/python3.11", "/opt/hfpack/python/bin/python3.11"}},
		{builder.Base{Python: "/bin/python3", SitePackages: "/lib/python3.11/site-packages"},
			scheme{"lib/python3.11/site-packages", "usr/local/bin", "usr/local", "usr/local/include/python3.11", "/bin/python3"}},
	} {
		got := builder.SchemeFor(tc.base)
		if diff := cmp.Diff(tc.want, scheme{got.Purelib, got.Scripts, got.Data, got.Include, got.Interpreter}); diff != "" {
			t.Errorf("SchemeFor(%s) (-want +got):\n%s", tc.base.Python, diff)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
