package llb

import (
	"context"
	"io"
	gofs "io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tonistiigi/fsutil/types"

	"github.com/hfpack/hfpack/builder"
)

func TestCASFSServesFixedMetadata(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("alpha"), 0o600)
	os.WriteFile(b, []byte("beta!"), 0o700)
	c := newCASFS()
	for _, f := range []struct {
		name, src string
		mode      gofs.FileMode
	}{{"ffff", a, 0o600}, {"0000", b, 0o700}, {"ffff", b, 0o644}} {
		if err := c.add(f.name, f.src, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.add("dir", dir, 0o644); err == nil {
		t.Error("add of a directory succeeded")
	}
	for _, target := range []string{"", "/", "."} {
		type stat struct {
			Path          string
			Mode          uint32
			Size, ModTime int64
			UID, GID      uint32
		}
		var got []stat
		err := c.Walk(context.Background(), target, func(p string, e gofs.DirEntry, err error) error {
			fi, err := e.Info()
			if err != nil {
				return err
			}
			s := fi.Sys().(*types.Stat)
			got = append(got, stat{s.Path, s.Mode, s.Size, s.ModTime, s.Uid, s.Gid})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []stat{{Path: "0000", Mode: 0o755, Size: 5}, {Path: "ffff", Mode: 0o644, Size: 5}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Walk(%q) (-want +got):\n%s", target, diff)
		}
	}
	rc, err := c.Open("ffff")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); string(b) != "alpha" {
		t.Errorf("Open(ffff) = %q, want the first source's contents", b)
	}
	if _, err := c.Open("1234"); err == nil {
		t.Error("Open of an unknown name succeeded")
	}
}

func TestLocalMountsNeedInstallerForWheels(t *testing.T) {
	w := filepath.Join(t.TempDir(), "w.whl")
	os.WriteFile(w, []byte("wheel"), 0o644)
	p := &builder.Plan{Layers: []builder.LayerPlan{{Name: "site-packages-0",
		Wheels: []builder.WheelRef{{Name: "w", Filename: "w-1-py3-none-any.whl", SHA256: "ab", Source: w}}}}}
	if _, err := LocalMounts(p, ""); err == nil {
		t.Error("LocalMounts without an installer succeeded for a plan with wheels")
	}
	m, err := LocalMounts(p, w)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m[LocalInstaller]; !ok {
		t.Errorf("no %s mount", LocalInstaller)
	}
	if _, err := m[LocalFiles].Open("ab"); err != nil {
		t.Errorf("a wheel without a URL is not served from %s: %v", LocalFiles, err)
	}
}
