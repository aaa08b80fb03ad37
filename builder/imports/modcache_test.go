package imports

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeWheel(t *testing.T, dir string, names ...string) (string, string) {
	t.Helper()
	p := filepath.Join(dir, "w-1.0-py3-none-any.whl")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, n := range names {
		if _, err := zw.Create(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, _ := os.ReadFile(p)
	sum := sha256.Sum256(b)
	return p, hex.EncodeToString(sum[:])
}

// What a wheel provides is read from the wheel once; afterwards it comes
// from the record for the wheel's sha256, without opening the wheel.
func TestModuleCacheRemembersBySHA256(t *testing.T) {
	c := NewModuleCache(t.TempDir())
	p, sum := writeWheel(t, t.TempDir(), "alpha/__init__.py", "beta.py", "w-1.0.dist-info/RECORD")
	want := []string{"alpha", "beta"}
	got, err := c.ModulesOfWheelFile(p, sum)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("first read (-want +got):\n%s", diff)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	got, err = c.ModulesOfWheelFile(p, sum)
	if err != nil {
		t.Fatalf("second read opened the wheel: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("remembered (-want +got):\n%s", diff)
	}
	// Another wheel (another sha256) at the same path is read, not confused
	// with the first.
	p2, sum2 := writeWheel(t, filepath.Dir(p), "gamma/__init__.py")
	if got, err := c.ModulesOfWheelFile(p2, sum2); err != nil || !cmp.Equal(got, []string{"gamma"}) {
		t.Errorf("other wheel = %v, %v, want [gamma]", got, err)
	}
}

// A damaged or foreign record is not trusted: the wheel is read again.
func TestModuleCacheIgnoresBadRecords(t *testing.T) {
	dir := t.TempDir()
	c := NewModuleCache(dir)
	p, sum := writeWheel(t, t.TempDir(), "alpha/__init__.py")
	for _, rec := range []string{`{"version":1,"sha256":"` + sum + `","modu`, `{"version":999,"sha256":"` + sum + `","modules":["evil"]}`,
		`{"version":1,"sha256":"00","modules":["evil"]}`} {
		if err := os.WriteFile(filepath.Join(dir, sum+".json"), []byte(rec), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := c.ModulesOfWheelFile(p, sum); err != nil || !cmp.Equal(got, []string{"alpha"}) {
			t.Errorf("with record %s: %v, %v, want [alpha]", rec, got, err)
		}
	}
	// A nil cache and a key that is not a sha256 work, remembering nothing.
	var none *ModuleCache
	if got, err := none.ModulesOfWheelFile(p, sum); err != nil || !cmp.Equal(got, []string{"alpha"}) {
		t.Errorf("nil cache: %v, %v", got, err)
	}
	if _, err := c.ModulesOfWheelFile(p, "../../etc/passwd"); err != nil {
		t.Errorf("odd key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "../../etc/passwd.json")); err == nil {
		t.Error("a record was written outside the cache")
	}
}
