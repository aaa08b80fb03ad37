package hub_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hfpack/hfpack/hub"
	"github.com/hfpack/hfpack/hub/hubtest"
	"github.com/hfpack/hfpack/internal/leftover"
)

const (
	repoID = "acme/tiny-sst2"
	token  = "hf_testTOKEN_never_print_me"
)

func newHub(t *testing.T, opts hubtest.Options) *hubtest.Server {
	t.Helper()
	opts.Token = token
	s := hubtest.New(opts)
	t.Cleanup(s.Close)
	return s
}

func client(t *testing.T, s *hubtest.Server, tok string) *hub.Client {
	t.Helper()
	var opts []hub.Option
	if tok != "" {
		opts = append(opts, hub.WithToken(tok, "HF_TOKEN"))
	}
	c, err := hub.NewClient(s.URL, append(opts, hub.WithRetries(2, 0))...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sha(c hubtest.Content) string {
	h := sha256.New()
	io.Copy(h, io.NewSectionReader(c, 0, c.Size()))
	return hex.EncodeToString(h.Sum(nil))
}

func TestResolveRecordsCommitAndHashes(t *testing.T) {
	s := newHub(t, hubtest.Options{})
	files := hubtest.Model(4096, 1)
	commit := s.Commit(repoID, "main", files)
	snap, err := client(t, s, "").Resolve(context.Background(), repoID, "main", hub.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Commit != commit {
		t.Errorf("commit = %s, want %s", snap.Commit, commit)
	}
	var paths []string
	for _, f := range snap.Files {
		paths = append(paths, f.Path)
		if want := sha(files[f.Path]); f.SHA256 != want {
			t.Errorf("%s: sha256 %s, want %s", f.Path, f.SHA256, want)
		}
		if f.Size != files[f.Path].Size() {
			t.Errorf("%s: size %d, want %d", f.Path, f.Size, files[f.Path].Size())
		}
	}
	want := []string{"config.json", "model.safetensors", "special_tokens_map.json", "tokenizer_config.json", "vocab.txt"}
	if !slices.Equal(paths, want) {
		t.Errorf("selected %v, want %v (sorted; no .bin, .h5, .onnx, README)", paths, want)
	}
}

func TestSelection(t *testing.T) {
	all := []string{"config.json", "model.safetensors", "pytorch_model.bin", "tf_model.h5", "flax_model.msgpack",
		"onnx/model.onnx", "modeling_x.py", "README.md", "tokenizer.json", "1_Pooling/config.json", "model.safetensors.index.json"}
	for _, tc := range []struct {
		name string
		sel  hub.Selection
		in   []string
		want []string
	}{
		{"default", hub.Selection{}, all, []string{"config.json", "model.safetensors", "model.safetensors.index.json", "tokenizer.json"}},
		{"no safetensors: pytorch weights", hub.Selection{}, []string{"config.json", "pytorch_model.bin", "tf_model.h5", "vocab.txt"},
			[]string{"config.json", "pytorch_model.bin", "vocab.txt"}},
		{"include adds", hub.Selection{Include: []string{"*.onnx", "1_Pooling/"}}, all,
			[]string{"1_Pooling/config.json", "config.json", "model.safetensors", "model.safetensors.index.json", "onnx/model.onnx", "tokenizer.json"}},
		{"exclude wins", hub.Selection{Include: []string{"*.bin"}, Exclude: []string{"*.bin", "tokenizer.*"}}, all,
			[]string{"config.json", "model.safetensors", "model.safetensors.index.json"}},
		{"remote code", hub.Selection{TrustRemoteCode: true}, all,
			[]string{"config.json", "model.safetensors", "model.safetensors.index.json", "modeling_x.py", "tokenizer.json"}},
		{"classes", hub.Selection{Include: []string{"[!c]*.md", "[Rr]EADME.m?"}}, all,
			[]string{"README.md", "config.json", "model.safetensors", "model.safetensors.index.json", "tokenizer.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.sel.Select(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Select = %v, want %v", got, tc.want)
			}
		})
	}
}

func fetcher(t *testing.T, c *hub.Client, dir string) *hub.Fetcher {
	return &hub.Fetcher{Client: c, Dir: dir, ChunkSize: 64 << 10, Connections: 4}
}

func TestFetchPinnedCommitAfterBranchMoves(t *testing.T) {
	s := newHub(t, hubtest.Options{})
	old := hubtest.Model(300<<10, 1)
	s.Commit(repoID, "main", old)
	c := client(t, s, "")
	snap, err := c.Resolve(context.Background(), repoID, "main", hub.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	s.Commit(repoID, "main", hubtest.Model(300<<10, 2)) // the branch moves on
	dir, err := fetcher(t, c, t.TempDir()).Snapshot(context.Background(), snap)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range snap.Files {
		got, err := os.ReadFile(filepath.Join(dir, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := io.ReadAll(io.NewSectionReader(old[f.Path], 0, old[f.Path].Size()))
		if string(got) != string(want) {
			t.Errorf("%s: the snapshot holds the branch's new bytes, not the pinned commit's", f.Path)
		}
	}
	if s.LeakedAuth() != 0 {
		t.Errorf("the file host received an Authorization header %d times", s.LeakedAuth())
	}
}

func TestFetchDetectsCorruptionAndRefetches(t *testing.T) {
	s := newHub(t, hubtest.Options{})
	files := hubtest.Model(200<<10, 3)
	s.Commit(repoID, "main", files)
	c := client(t, s, "")
	snap, err := c.Resolve(context.Background(), repoID, "main", hub.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	weights := sha(files["model.safetensors"])
	cache := t.TempDir()

	s.Corrupt(weights, 1) // once: the refetch succeeds
	if _, err := fetcher(t, c, cache).Snapshot(context.Background(), snap); err != nil {
		t.Fatalf("a download corrupted once was not refetched: %v", err)
	}
	size := files["model.safetensors"].Size()
	if got := s.FileBytes(); got < 2*size {
		t.Errorf("served %d bytes; a refetch of the %d-byte weights should have doubled that", got, size)
	}

	// A blob damaged in the cache is detected and fetched again.
	blob := filepath.Join(cache, "blobs", "sha256", weights)
	os.Chmod(blob, 0o644)
	b, _ := os.ReadFile(blob)
	b[len(b)/2] ^= 1
	if err := os.WriteFile(blob, b, 0o644); err != nil {
		t.Fatal(err)
	}
	dir, err := fetcher(t, c, cache).Snapshot(context.Background(), snap)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	if sum := sha256.Sum256(got); hex.EncodeToString(sum[:]) != weights {
		t.Error("a damaged cached blob was used")
	}

	// Corrupt every time: refused, nothing left in the cache.
	s.Corrupt(weights, 10)
	other := t.TempDir()
	_, err = fetcher(t, c, other).Snapshot(context.Background(), snap)
	if !errors.Is(err, hub.ErrMismatch) {
		t.Fatalf("Snapshot = %v, want ErrMismatch", err)
	}
	if _, err := os.Stat(filepath.Join(other, "blobs", "sha256", weights)); err == nil {
		t.Error("a corrupt download was stored in the cache")
	}
}

func TestErrorsNameTheFix(t *testing.T) {
	s := newHub(t, hubtest.Options{})
	s.Commit(repoID, "main", hubtest.Model(1024, 1))
	s.Commit("acme/gated", "main", hubtest.Model(1024, 1))
	s.SetGated("acme/gated", true)
	s.Commit("acme/private", "main", hubtest.Model(1024, 1))
	s.SetPrivate("acme/private", true)
	ctx := context.Background()
	for _, tc := range []struct {
		name, repo, rev, tok string
		want                 error
		says                 []string
	}{
		{"gated without token", "acme/gated", "main", "", hub.ErrGated, []string{"gated", "accept its conditions", "set HF_TOKEN"}},
		{"private without token", "acme/private", "main", "", hub.ErrRepoNotFound, []string{"does not exist or is private", "set HF_TOKEN"}},
		{"missing repo", "acme/nope", "main", token, hub.ErrRepoNotFound, []string{"check model.source"}},
		{"missing revision", repoID, "v9", "", hub.ErrRevisionNotFound, []string{`no revision "v9"`, "model.revision"}},
		{"bad token", repoID, "main", "hf_wrong", hub.ErrUnauthorized, []string{"refused the token in HF_TOKEN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client(t, s, tc.tok).Resolve(ctx, tc.repo, tc.rev, hub.Selection{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Resolve = %v, want %v", err, tc.want)
			}
			for _, w := range tc.says {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "hf_wrong") {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
	t.Run("gated with token", func(t *testing.T) {
		if _, err := client(t, s, token).Resolve(ctx, "acme/gated", "main", hub.Selection{}); err != nil {
			t.Fatal(err)
		}
		if !s.SawToken(token) {
			t.Error("the token was not sent to the Hub")
		}
	})
	t.Run("file removed upstream", func(t *testing.T) {
		c := client(t, s, "")
		snap, err := c.Resolve(ctx, repoID, "main", hub.Selection{})
		if err != nil {
			t.Fatal(err)
		}
		s.RemoveFile(repoID, snap.Commit, "model.safetensors")
		_, err = fetcher(t, c, t.TempDir()).Snapshot(ctx, snap)
		if !errors.Is(err, hub.ErrEntryNotFound) || !strings.Contains(err.Error(), "hfpack lock --upgrade-model") {
			t.Fatalf("Snapshot = %v, want ErrEntryNotFound naming hfpack lock --upgrade-model", err)
		}
		s.DeleteCommit(repoID, snap.Commit)
		_, err = fetcher(t, c, t.TempDir()).Snapshot(ctx, snap)
		if !errors.Is(err, hub.ErrRevisionNotFound) {
			t.Fatalf("Snapshot of a deleted commit = %v, want ErrRevisionNotFound", err)
		}
	})
}

func TestTokenOnlyToTheHub(t *testing.T) {
	s := newHub(t, hubtest.Options{})
	s.Commit("acme/private", "main", hubtest.Model(128<<10, 4))
	s.SetPrivate("acme/private", true)
	c := client(t, s, token)
	snap, err := c.Resolve(context.Background(), "acme/private", "main", hub.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	if _, err := fetcher(t, c, cache).Snapshot(context.Background(), snap); err != nil {
		t.Fatal(err)
	}
	if s.LeakedAuth() != 0 {
		t.Errorf("the token followed the redirect to the file host %d times", s.LeakedAuth())
	}
	if strings.Contains(c.String()+c.GoString(), token) {
		t.Error("the client prints its token")
	}
	filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		if strings.Contains(p, token) {
			t.Errorf("cache path %s holds the token", p)
		}
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), token) {
				t.Errorf("cache file %s holds the token", p)
			}
		}
		return nil
	})
}

func TestConcurrentFetchesShareTheCache(t *testing.T) {
	s := newHub(t, hubtest.Options{BytesPerSecond: 8 << 20})
	s.Commit(repoID, "main", hubtest.Model(2<<20, 6))
	c := client(t, s, "")
	snap, err := c.Resolve(context.Background(), repoID, "main", hub.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := fetcher(t, c, cache).Snapshot(context.Background(), snap)
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent fetch: %v", err)
		}
	}
	if got, max := s.FileBytes(), int64(3<<20); got > max {
		t.Errorf("three fetches into one cache downloaded %d bytes; the model is about 2 MiB", got)
	}
}

func TestRenamedRepoFollowsRelativeRedirectsWithToken(t *testing.T) {
	s := newHub(t, hubtest.Options{})
	files := hubtest.Model(64<<10, 12)
	s.Commit("acme/old-name", "main", files)
	s.SetPrivate("acme/old-name", true)
	s.Rename("acme/old-name", "acme/new-name")
	c := client(t, s, token)
	snap, err := c.Resolve(context.Background(), "acme/old-name", "main", hub.Selection{})
	if err != nil {
		t.Fatalf("a renamed private repository: %v (the token must follow a same-host redirect)", err)
	}
	dir, err := fetcher(t, c, t.TempDir()).Snapshot(context.Background(), snap)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err != nil || sha(hubtest.Bytes(b)) != sha(files["config.json"]) {
		t.Errorf("config.json through the redirect: %v", err)
	}
	if s.LeakedAuth() != 0 {
		t.Error("the token reached the file host")
	}
}

// TestFetcherResolveKeepsSmallFiles: the files kept in git that a
// Fetcher's Resolve downloads to hash are the cache's blobs afterwards, so
// fetching the snapshot downloads only the LFS files, and a damaged record
// of a git blob id is not trusted.
func TestFetcherResolveKeepsSmallFiles(t *testing.T) {
	s := newHub(t, hubtest.Options{})
	files := hubtest.Model(64<<10, 1)
	s.Commit(repoID, "main", files)
	cache := t.TempDir()
	f := fetcher(t, client(t, s, ""), cache)
	snap, err := f.Resolve(context.Background(), repoID, "main", hub.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := client(t, s, "").Resolve(context.Background(), repoID, "main", hub.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(snap.Files, plain.Files) || snap.Commit != plain.Commit {
		t.Fatalf("Fetcher.Resolve = %+v, Client.Resolve = %+v", snap, plain)
	}
	bytes := s.FileBytes()
	if _, err := f.Snapshot(context.Background(), snap); err != nil {
		t.Fatal(err)
	}
	if got, want := s.FileBytes()-bytes, files["model.safetensors"].Size(); got != want {
		t.Errorf("fetching the snapshot downloaded %d bytes, want only the %d of the LFS weights", got, want)
	}

	// A record naming the wrong blob is dropped and the file downloaded.
	refs, _ := filepath.Glob(filepath.Join(cache, "refs", "git-blob", "*"))
	if len(refs) != 4 {
		t.Fatalf("%d git blob records, want 4 (the small files)", len(refs))
	}
	if err := os.WriteFile(refs[0], []byte(sha(files["model.safetensors"])+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := s.Requests()
	again, err := f.Resolve(context.Background(), repoID, "main", hub.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.Files, plain.Files) {
		t.Errorf("after a damaged record: %+v, want %+v", again.Files, plain.Files)
	}
	if n := s.Requests() - before; n != 2 {
		t.Errorf("after a damaged record: %d requests, want 2 (the listing and that file)", n)
	}
}

// Resolve holds each small-file download while it writes it (Fetcher.Hold),
// so what a killed lock left in the cache, and only that, can be told and
// removed (internal/leftover.Clean of TempPrefix, as hfpack lock does): one
// another process still holds, or just created, is kept.
func TestResolveHoldsItsDownloads(t *testing.T) {
	s := newHub(t, hubtest.Options{})
	s.Commit(repoID, "main", hubtest.Model(64<<10, 1))
	cache := t.TempDir()
	dir := filepath.Join(cache, "blobs", "sha256")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	mk := func(name string, mtime time.Time) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("half a file"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	killed, held, fresh := mk(".tmp-git-blob-1", old), mk(".tmp-git-blob-2", old), mk(".tmp-git-blob-3", time.Now())
	release, err := leftover.Hold(held)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	f := fetcher(t, client(t, s, ""), cache)
	var mu sync.Mutex
	holding := 0
	f.Hold = func(p string) (func(), error) {
		if !strings.HasPrefix(filepath.Base(p), hub.TempPrefix) || filepath.Dir(p) != f.BlobDir() {
			t.Errorf("Hold(%s): not a temporary of the blob directory", p)
		}
		release, err := leftover.Hold(p)
		mu.Lock()
		holding++
		mu.Unlock()
		return release, err
	}
	leftover.Clean(f.BlobDir(), hub.TempPrefix)
	if _, err := f.Resolve(context.Background(), repoID, "main", hub.Selection{}); err != nil {
		t.Fatal(err)
	}
	if holding != 4 {
		t.Errorf("Resolve held %d downloads, want the 4 small files", holding)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, hub.TempPrefix+"*")); len(left) != 2 {
		t.Errorf("temporaries left: %q, want the held and the fresh one", left)
	}
	for p, want := range map[string]bool{killed: false, held: true, fresh: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists = %v after Resolve, want %v", filepath.Base(p), err == nil, want)
		}
	}
}
