package e2e

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/e2e/harness"
)

// TestReproducible: two builds of the same project from clean caches, under different time zones,
// umasks and checkouts (other directory, group/other permission bits cleared), give the same
// image digest; so does a build whose base comes from a registry by digest instead of an OCI
// layout.
func TestReproducible(t *testing.T) {
	heavy(t)
	ix := startIndex(t)
	base := harness.Base(t, harness.DefaultBase())
	p := newProject(t, ix, "oci-layout:"+base.Layout)
	mustHfpack(t, p.Dir, nil, "lock", p.Manifest)

	build := func(t *testing.T, dir, tz, umask string) built {
		t.Helper()
		out := filepath.Join(t.TempDir(), "image")
		sh := `umask ` + umask + `; exec "$0" "$@"`
		r := runTool(t, "/bin/sh", dir, []string{"TZ=" + tz},
			"-c", sh, filepath.Join(binDir(t), "hfpack"),
			"--json", "build", filepath.Join(dir, "hfpack.toml"), "--cache-dir", t.TempDir(), "--output", "oci:"+out)
		if r.code != 0 {
			t.Fatalf("%v", r)
		}
		var b built
		if err := json.Unmarshal([]byte(r.stdout), &b); err != nil {
			t.Fatalf("hfpack build --json: %v\n%s", err, r.stdout)
		}
		return b
	}
	first := build(t, p.Dir, "UTC", "022")

	// A second checkout, as under umask 077: same contents, in another directory, private modes.
	other := t.TempDir()
	if err := os.CopyFS(other, os.DirFS(p.Dir)); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(other, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == other {
			return err
		}
		mode := os.FileMode(0o600)
		if d.IsDir() {
			mode = 0o700
		}
		return os.Chmod(path, mode)
	})
	if err != nil {
		t.Fatal(err)
	}
	second := build(t, other, "Pacific/Chatham", "077")
	if first.Digest != second.Digest {
		t.Errorf("rebuild from a clean cache (TZ, umask, modes, directory changed): digest %s, first build %s", second.Digest, first.Digest)
	}

	t.Run("registry base", func(t *testing.T) {
		registryBase(t, p, base, build, first)
	})
}

// built is what `hfpack build --json` prints that these tests compare.
type built struct {
	Digest string `json:"digest"`
	Layers []struct {
		Name   string `json:"name"`
		Digest string `json:"digest"`
	} `json:"layers"`
}

// registryBase builds with the base pulled from a registry by digest: the manifest changed (its
// digest is a label), every layer must not.
func registryBase(t *testing.T, p *project, base *harness.BaseImage, build func(t *testing.T, dir, tz, umask string) built, first built) {
	reg := harness.StartRegistry(t)
	p.edit(t, "base", `base = "`+base.Push(t, reg, "debian").String()+`"`)
	third := build(t, p.Dir, "UTC", "022")
	if diff := cmp.Diff(first.Layers, third.Layers); diff != "" {
		t.Errorf("layers with the base from a registry by digest (-from the OCI layout +from the registry):\n%s", diff)
	}
}
