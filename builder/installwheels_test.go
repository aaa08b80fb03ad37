package builder

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/builder/layer"
	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/builder/wheelinstall"
	"github.com/hfpack/hfpack/lockfile/indextest"
)

func testWheel(t *testing.T, dir, name string, files map[string]string) WheelRef {
	t.Helper()
	spec := indextest.WheelSpec{Name: name, Version: "1.0"}
	for p, data := range files {
		spec.Files = append(spec.Files, indextest.WheelFile{Path: p, Data: []byte(data)})
	}
	data := indextest.MustBuildWheel(spec)
	p := filepath.Join(dir, spec.Filename())
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return WheelRef{Name: name, Version: "1.0", Filename: spec.Filename(), SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Source: p}
}

// Wheels read on several cores at once install as they would one after
// another: the same tree, and the error of the first wheel that fails, in
// the lock's order.
func TestInstallWheelsAsInTurn(t *testing.T) {
	dir := t.TempDir()
	base := Base{Python: "/usr/bin/python3", SitePackages: "/usr/lib/python3/dist-packages"}
	var ws []WheelRef
	for i := range 6 {
		ws = append(ws, testWheel(t, dir, fmt.Sprintf("p%d", i), map[string]string{
			fmt.Sprintf("p%d/__init__.py", i): strings.Repeat("x = 1\n", 300*i+1),
			"shared/__init__.py":              "", // identical bytes: installed once
		}))
	}
	inTurn := tree.New()
	for _, w := range ws {
		if err := InstallWheel(inTurn, w, base); err != nil {
			t.Fatal(err)
		}
	}
	var files wheelinstall.Files
	defer files.Close()
	atOnce := tree.New()
	if err := installWheels(atOnce, ws, base, nil, &files); err != nil {
		t.Fatal(err)
	}
	a, b := inTurn.Entries(), atOnce.Entries()
	if len(a) != len(b) {
		t.Fatalf("%d entries installed at once, %d in turn", len(b), len(a))
	}
	for i := range a {
		if a[i].Path != b[i].Path || a[i].Size != b[i].Size || a[i].SHA256 != b[i].SHA256 || a[i].Mode != b[i].Mode {
			t.Errorf("entry %d: %s (%d bytes, %s) at once, %s (%d bytes, %s) in turn", i, b[i].Path, b[i].Size, b[i].SHA256, a[i].Path, a[i].Size, a[i].SHA256)
		}
	}

	// p1 is not the file the lock pinned; p3 is not a zip at all: p1's
	// error is the one reported, whichever fails first.
	bad := append([]WheelRef(nil), ws...)
	bad[1].SHA256 = strings.Repeat("0", 64)
	notZip := filepath.Join(dir, "p3-1.0-py3-none-any.whl")
	if err := os.WriteFile(notZip, []byte("not a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("not a zip"))
	bad[3].Source, bad[3].SHA256 = notZip, hex.EncodeToString(sum[:])
	for range 5 {
		err := installWheels(tree.New(), bad, base, nil, nil)
		if !errors.Is(err, wheelinstall.ErrDigestMismatch) || !strings.Contains(err.Error(), bad[1].Filename) {
			t.Fatalf("installWheels() = %v, want p1's ErrDigestMismatch", err)
		}
	}

	// Two wheels writing one file with different bytes: the second is refused.
	clash := []WheelRef{ws[0], testWheel(t, t.TempDir(), "q", map[string]string{"p0/__init__.py": "other\n"})}
	err := installWheels(tree.New(), clash, base, nil, nil)
	if !errors.Is(err, tree.ErrConflict) || !strings.Contains(err.Error(), clash[1].Filename) {
		t.Errorf("installWheels() of clashing wheels = %v, want ErrConflict naming %s", err, clash[1].Filename)
	}
}

// rawWheel writes a wheel of one module whose RECORD row is the given one,
// and whose archive records crc as the module's CRC-32 when crc is not nil.
func rawWheel(t *testing.T, dir, module string, record string, crc *uint32) WheelRef {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name, data string) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, data)
	}
	add("m.py", module)
	add("m-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: m\nVersion: 1.0\n")
	add("m-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
	add("m-1.0.dist-info/RECORD", record+"m-1.0.dist-info/RECORD,,\n")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if crc != nil {
		var err error
		if data, err = indextest.WithCRC32(data, "m.py", *crc); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "m-1.0-py3-none-any.whl")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return WheelRef{Name: "m", Version: "1.0", Filename: "m-1.0-py3-none-any.whl", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Source: p}
}

// A wheel whose RECORD row its file does not match builds, as pip installs
// it, with the archive's bytes in the layer (its DEFLATE stream carried as
// it is); a member whose bytes are not those the archive records is
// refused by the layer writer, naming it.
func TestLayerOfWheelWithStaleRecord(t *testing.T) {
	base := Base{Python: "/usr/bin/python3", SitePackages: "/usr/lib/python3/dist-packages"}
	module := strings.Repeat("def f(x):\n    return x\n", 200) // spliced: over 1 KiB
	stale := "m.py,sha256=" + strings.Repeat("A", 43) + ",7\n"

	tr := tree.New()
	if err := InstallWheel(tr, rawWheel(t, t.TempDir(), module, stale, nil), base); err != nil {
		t.Fatalf("installing a wheel with a stale RECORD row: %v", err)
	}
	if e, _ := tr.Get("usr/lib/python3/dist-packages/m.py"); e.Deflated == nil {
		t.Fatal("m.py has no DEFLATE stream to carry: the test would not cover the spliced path")
	}
	l, err := layer.Write(context.Background(), tr, t.TempDir())
	if err != nil {
		t.Fatalf("writing the layer: %v", err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tarRead := tar.NewReader(rc)
	found := false
	for {
		h, err := tarRead.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "usr/lib/python3/dist-packages/m.py" {
			b, _ := io.ReadAll(tarRead)
			found = string(b) == module
		}
	}
	if !found {
		t.Error("the layer does not hold m.py with the archive's bytes")
	}

	bad := uint32(0xdeadbeef)
	tr = tree.New()
	if err := InstallWheel(tr, rawWheel(t, t.TempDir(), module, stale, &bad), base); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := layer.Write(context.Background(), tr, dir); !errors.Is(err, layer.ErrContentMismatch) || !strings.Contains(err.Error(), "m.py") {
		t.Errorf("writing a layer with a corrupt member = %v, want layer.ErrContentMismatch naming m.py", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "sha256", "*")); len(left) > 0 {
		t.Errorf("a failed write left %v", left)
	}
}
