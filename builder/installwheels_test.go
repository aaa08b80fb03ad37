package builder

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
