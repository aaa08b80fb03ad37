package commands

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/internal/readcount"
	"github.com/hfpack/hfpack/lockfile/indextest"
)

// weightsProject is the example with a local model that also holds size
// bytes of weights, on a local base, locked (its model hashes recorded in
// a cache of their own); it returns the manifest and the weights' path.
func weightsProject(t *testing.T, size int) (manifest, weights string) {
	t.Helper()
	manifest = hubProject(t, `path = "model"`)
	// An index of its own: the shared demo index may belong to another
	// process that goes away mid-test.
	srv := indextest.NewServer()
	t.Cleanup(srv.Close)
	srv.MustAddWheel(indextest.WheelSpec{Name: "hfpack-demo-text", Version: "1.0.0", TopLevel: []string{"demo_text"}})
	editFile(t, manifest, "http://127.0.0.1:8765/simple", srv.URL)
	model := filepath.Join(filepath.Dir(manifest), "model")
	copyDir(t, filepath.Join(repoRoot(t), "examples", "sst2", "model"), model)
	b := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	weights = filepath.Join(model, "extra.bin")
	if err := os.WriteFile(weights, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "lock", manifest, "--cache-dir", t.TempDir()); code != ExitOK {
		t.Fatalf("hfpack lock: exit %d\n%s", code, stderr)
	}
	return manifest, weights
}

// A cold build reads each model file once before it writes the image
// anywhere: the lock's pins, the files' hashes in the plan and the layers'
// digests all come from that read (before, the lock's pins were checked in
// a read of their own).
func TestColdBuildReadsModelOnce(t *testing.T) {
	const size = 24 << 20
	manifest, _ := weightsProject(t, size)
	sidecar := fakeSidecar(t)
	code, stdout, stderr := run(t, "build", manifest, "--cache-dir", t.TempDir(), "--sidecar", sidecar, "--json", "-o", "oci:"+t.TempDir())
	if code != ExitOK {
		t.Fatalf("build: exit %d\n%s", code, stderr)
	}
	var r BuildResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	// --verify builds without publishing: what it reads is the build's.
	before := readcount.Of(t)
	if code, _, stderr := run(t, "build", manifest, "--cache-dir", t.TempDir(), "--sidecar", sidecar, "--verify", r.Digest); code != ExitOK {
		t.Fatalf("cold build --verify %s: exit %d\n%s", r.Digest, code, stderr)
	}
	read := readcount.Of(t) - before
	t.Logf("the cold build read %d bytes for %d bytes of weights", read, size)
	if read < size {
		t.Fatalf("the cold build read %d bytes, less than the %d bytes of weights: the count is wrong", read, size)
	}
	if read > size*3/2 {
		t.Errorf("the cold build read %d bytes for %d bytes of weights: the model is read more than once", read, size)
	}
}

// A model edited since the lock, keeping its size (so only its bytes tell),
// is refused by build with check's message, and nothing is written; the
// cache is not poisoned: restored, the model builds the same image again.
func TestBuildRefusesEditedModel(t *testing.T) {
	manifest, weights := weightsProject(t, 4<<20)
	sidecar := fakeSidecar(t)
	cache := t.TempDir()
	build := func(out string) (int, BuildResult, string) {
		t.Helper()
		code, stdout, stderr := run(t, "build", manifest, "--cache-dir", cache, "--sidecar", sidecar, "--json", "-o", "oci:"+out)
		var r BuildResult
		if code == ExitOK {
			if err := json.Unmarshal([]byte(stdout), &r); err != nil {
				t.Fatal(err)
			}
		}
		return code, r, stderr
	}
	code, first, stderr := build(t.TempDir())
	if code != ExitOK {
		t.Fatalf("build: exit %d\n%s", code, stderr)
	}
	orig, err := os.ReadFile(weights)
	if err != nil {
		t.Fatal(err)
	}
	edited := append([]byte(nil), orig...)
	edited[len(edited)/2] ^= 0xff
	missing := filepath.Join(t.TempDir(), "no-sidecar")
	for _, tc := range []struct {
		name    string
		fresh   bool // a cache that has hashed nothing
		sidecar string
	}{
		{"after a build", false, sidecar},
		{"before any build", true, sidecar},
		// A missing sidecar would stop the build later: the changed model
		// is refused first, as check refuses it.
		{"with no sidecar", true, missing},
	} {
		if tc.fresh {
			cache = t.TempDir()
		}
		if err := os.WriteFile(weights, edited, 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "out")
		code, _, berr := run(t, "build", manifest, "--cache-dir", cache, "--sidecar", tc.sidecar, "-o", "oci:"+out)
		want := "model changed since the lock: extra.bin changed"
		if code != ExitFailure || !strings.Contains(berr, want) {
			t.Errorf("%s: build of an edited model: exit %d, want 1 saying %q:\n%s", tc.name, code, want, berr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: build wrote %s before refusing", tc.name, out)
		}
		ccode, _, cerr := run(t, "check", manifest, "--cache-dir", cache)
		if ccode != ExitFailure || errorLines(cerr) != errorLines(berr) {
			t.Errorf("%s: check refused with (exit %d)\n%s\nbuild with\n%s", tc.name, ccode, cerr, berr)
		}
		if err := os.WriteFile(weights, orig, 0o644); err != nil {
			t.Fatal(err)
		}
		code, again, stderr := build(t.TempDir())
		if code != ExitOK || again.Digest != first.Digest {
			t.Errorf("%s: the restored model builds %s (exit %d), want %s\n%s", tc.name, again.Digest, code, first.Digest, stderr)
		}
	}
}
