package lockfile_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/lockfile"
	"github.com/hfpack/hfpack/lockfile/index"
	"github.com/hfpack/hfpack/lockfile/indextest"
	"github.com/hfpack/hfpack/lockfile/pylock"
	"github.com/hfpack/hfpack/manifest"
	"github.com/hfpack/hfpack/python/tags"
)

// target is the image every scenario locks for: CPython 3.11 on
// glibc 2.35 x86_64.
var target = tags.Target{Python: "3.11", Glibc: "2.35", Arch: "x86_64"}

// newManifest returns a manifest (not read from disk) for reqs served by
// indexURL, with the extra indexes given.
func newManifest(t *testing.T, indexURL string, reqs []string, indexes ...manifest.Index) *manifest.Manifest {
	t.Helper()
	dir := t.TempDir()
	return &manifest.Manifest{
		File: filepath.Join(dir, manifest.DefaultFile),
		Dir:  dir,
		Name: "scenario",
		Model: manifest.Model{
			Path: "model",
		},
		Python: manifest.Python{Version: "3.11", Requirements: reqs, IndexURL: indexURL, Indexes: indexes},
	}
}

// lockOpts are the options every scenario uses: a fresh cache, no model
// files and fast retries.
func lockOpts(t *testing.T, extra ...lockfile.Option) []lockfile.Option {
	return append([]lockfile.Option{
		lockfile.WithCacheDir(t.TempDir()),
		lockfile.WithoutModelFiles(),
		lockfile.WithIndexOptions(index.WithBackoff(time.Millisecond, 5*time.Millisecond), index.WithRetries(3)),
	}, extra...)
}

// lock locks reqs against srv.
func lock(t *testing.T, srv *indextest.Server, reqs []string, prev *pylock.Lock, opts ...lockfile.Option) (*pylock.Lock, error) {
	t.Helper()
	m := newManifest(t, srv.URL, reqs)
	return lockfile.Lock(context.Background(), m, target, prev, lockOpts(t, opts...)...)
}

// mustLock is lock failing the test on error.
func mustLock(t *testing.T, srv *indextest.Server, reqs []string, prev *pylock.Lock, opts ...lockfile.Option) *pylock.Lock {
	t.Helper()
	l, err := lock(t, srv, reqs, prev, opts...)
	if err != nil {
		t.Fatalf("Lock(%q): %v", reqs, err)
	}
	return l
}

// versions returns "name==version" for every locked package.
func versions(l *pylock.Lock) []string {
	var out []string
	for _, p := range l.Packages {
		out = append(out, p.Name+"=="+p.Version)
	}
	return out
}

func wantVersions(t *testing.T, l *pylock.Lock, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, versions(l)); diff != "" {
		t.Errorf("locked versions (-want +got):\n%s", diff)
	}
}

// wantErr checks that err is non-nil and mentions every fragment.
func wantErr(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Lock succeeded, want an error mentioning %q", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error does not mention %q:\n%v", f, err)
		}
	}
}

// wheel adds a py3-none-any wheel of name version with requires to srv.
func wheel(srv *indextest.Server, name, version string, requires ...string) {
	srv.MustAddWheel(indextest.WheelSpec{Name: name, Version: version, RequiresDist: requires})
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// writeModel writes a small model directory.
func writeModel(t *testing.T, dir string) {
	t.Helper()
	for name, body := range map[string]string{"config.json": `{"model_type":"bert"}`, "weights/model.safetensors": "weights"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
