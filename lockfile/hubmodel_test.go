package lockfile_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
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

// TestHubLockKeepsSmallFiles: the files kept in git, which lock downloads
// to hash, are cached by content, so locking again (with no earlier lock
// to keep, or at a new commit whose small files did not change) requests
// only the listing, which says where the revision points now.
func TestHubLockKeepsSmallFiles(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	wheel(srv, "a", "1.0")
	s := hubtest.New(hubtest.Options{})
	defer s.Close()
	files := hubtest.Model(2048, 1)
	s.Commit("acme/tiny", "main", files)
	m := hubManifest(t, srv)
	dir := t.TempDir()
	cache := lockfile.WithCacheDir(dir)

	first, err := lockHub(t, s, srv, m, nil, cache)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Requests(); n != 5 {
		t.Fatalf("the first lock made %d Hub requests, want 5 (the listing and the 4 small files)", n)
	}
	before, bytes := s.Requests(), s.FileBytes()
	again, err := lockHub(t, s, srv, m, nil, cache)
	if err != nil {
		t.Fatal(err)
	}
	if n, b := s.Requests()-before, s.FileBytes()-bytes; n != 1 || b != 0 {
		t.Errorf("the second lock made %d Hub requests for %d bytes of files, want 1 (the listing) and 0", n, b)
	}
	a, _ := pylock.Marshal(first)
	b, _ := pylock.Marshal(again)
	if string(a) != string(b) {
		t.Errorf("the lock from the cache differs:\n%s\n---\n%s", a, b)
	}

	// The branch moves with new weights; the small files are the same
	// blobs, so moving to it fetches none of them.
	s.Commit("acme/tiny", "main", hubtest.Model(2048, 2))
	before = s.Requests()
	up, err := lockHub(t, s, srv, m, again, cache, lockfile.WithUpgradeModel(true))
	if err != nil {
		t.Fatal(err)
	}
	if up.HFPack.Model.Commit == first.HFPack.Model.Commit {
		t.Fatal("--upgrade-model did not move the commit")
	}
	if n := s.Requests() - before; n != 1 {
		t.Errorf("moving to a commit with the same small files made %d Hub requests, want 1", n)
	}

	// A damaged cached file is fetched again, and the lock is still right.
	sum := sha256Hex(read(t, files["config.json"]))
	blob := filepath.Join(lockfile.HubCacheDir(dir), "blobs", "sha256", sum)
	os.Chmod(blob, 0o644)
	if err := os.WriteFile(blob, []byte(`{"model_type": "evil"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	before = s.Requests()
	fixed, err := lockHub(t, s, srv, m, nil, cache, lockfile.WithUpgradeModel(true))
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Requests() - before; n != 2 {
		t.Errorf("a damaged cached config.json: %d Hub requests, want 2 (the listing, config.json)", n)
	}
	for _, f := range fixed.HFPack.ModelFiles {
		if f.Path == "config.json" && f.SHA256 != sum {
			t.Errorf("config.json locked as %s from a damaged cache, want %s", f.SHA256, sum)
		}
	}
}
