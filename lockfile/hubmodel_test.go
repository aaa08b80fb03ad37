package lockfile_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/hfpack/hfpack/hub"
	"github.com/hfpack/hfpack/hub/hubtest"
	"github.com/hfpack/hfpack/lockfile"
	"github.com/hfpack/hfpack/lockfile/index"
	"github.com/hfpack/hfpack/lockfile/indextest"
	"github.com/hfpack/hfpack/lockfile/pylock"
	"github.com/hfpack/hfpack/manifest"
)

// lockHub locks a manifest whose model is hf://acme/tiny at revision.
func lockHub(t *testing.T, s *hubtest.Server, srv *indextest.Server, m *manifest.Manifest, prev *pylock.Lock, opts ...lockfile.Option) (*pylock.Lock, error) {
	t.Helper()
	c, err := hub.NewClient(s.URL, hub.WithRetries(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]lockfile.Option{lockfile.WithCacheDir(t.TempDir()), lockfile.WithHub(c),
		lockfile.WithIndexOptions(index.WithRetries(0))}, opts...)
	return lockfile.Lock(context.Background(), m, target, prev, opts...)
}

func hubManifest(t *testing.T, srv *indextest.Server) *manifest.Manifest {
	m := newManifest(t, srv.URL, []string{"a"})
	m.Model = manifest.Model{Source: "hf://acme/tiny", Revision: "main", TokenEnv: "HF_TOKEN", Task: "text-classification"}
	return m
}

func TestLockPinsHubModel(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	wheel(srv, "a", "1.0")
	s := hubtest.New(hubtest.Options{})
	defer s.Close()
	files := hubtest.Model(2048, 1)
	first := s.Commit("acme/tiny", "main", files)
	m := hubManifest(t, srv)

	l, err := lockHub(t, s, srv, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	hm := l.HFPack.Model
	if hm == nil || hm.Source != "hf://acme/tiny" || hm.Revision != "main" || hm.Commit != first {
		t.Fatalf("[tool.hfpack.model] = %+v, want hf://acme/tiny main at %s", hm, first)
	}
	var paths []string
	for _, f := range l.HFPack.ModelFiles {
		paths = append(paths, f.Path)
		c := files[f.Path]
		if f.Size != c.Size() || f.SHA256 != sha256Hex(read(t, c)) {
			t.Errorf("%s: size %d sha256 %s, want the file's", f.Path, f.Size, f.SHA256)
		}
	}
	if len(paths) != 5 || paths[0] != "config.json" || paths[1] != "model.safetensors" {
		t.Errorf("model files %v, want the five from_pretrained needs, sorted", paths)
	}

	// The branch moves: relocking keeps the pinned commit, byte for byte.
	s.Commit("acme/tiny", "main", hubtest.Model(2048, 2))
	again, err := lockHub(t, s, srv, m, l)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := pylock.Marshal(l)
	b, _ := pylock.Marshal(again)
	if string(a) != string(b) {
		t.Errorf("relocking after the branch moved changed the lock:\n%s\n---\n%s", a, b)
	}
	// A new selection re-lists the pinned commit, not the branch.
	m.Model.Include = []string{"README.md"}
	sel, err := lockHub(t, s, srv, m, l)
	if err != nil {
		t.Fatal(err)
	}
	if sel.HFPack.Model.Commit != first || len(sel.HFPack.ModelFiles) != 6 {
		t.Errorf("new selection: commit %s with %d files, want %s with 6", sel.HFPack.Model.Commit, len(sel.HFPack.ModelFiles), first)
	}
	// --upgrade-model moves it.
	up, err := lockHub(t, s, srv, m, sel, lockfile.WithUpgradeModel(true))
	if err != nil {
		t.Fatal(err)
	}
	if up.HFPack.Model.Commit != s.Head("acme/tiny", "main") || up.HFPack.Model.Commit == first {
		t.Errorf("--upgrade-model left the commit at %s", up.HFPack.Model.Commit)
	}
	if !lockfile.HubModelMatches(m, up.HFPack.Model) {
		t.Error("the upgraded lock does not match its manifest")
	}
	m.Model.TrustRemoteCode = true
	if lockfile.HubModelMatches(m, up.HFPack.Model) {
		t.Error("a lock without the *.py files matches a manifest that trusts remote code")
	}
	m.Model.TrustRemoteCode = false
	m.Model.Revision = "v2"
	if lockfile.HubModelMatches(m, up.HFPack.Model) {
		t.Error("a lock of revision main matches a manifest asking for v2")
	}
	_, err = lockHub(t, s, srv, m, up)
	if !errors.Is(err, hub.ErrRevisionNotFound) {
		t.Errorf("locking a missing revision: %v, want ErrRevisionNotFound", err)
	}
}

func read(t *testing.T, c hubtest.Content) []byte {
	b, err := io.ReadAll(io.NewSectionReader(c, 0, c.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
