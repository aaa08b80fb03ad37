package index

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hfpack/hfpack/lockfile/cache"
	"github.com/hfpack/hfpack/lockfile/indextest"
)

// recorder wraps an index and remembers the status of each page response.
type recorder struct {
	ix *indextest.Index
	mu sync.Mutex
	// statuses of project-page responses, in order
	statuses []int
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(c int) { w.code = c; w.ResponseWriter.WriteHeader(c) }

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	sw := &statusWriter{ResponseWriter: w, code: 200}
	r.ix.ServeHTTP(sw, req)
	r.mu.Lock()
	r.statuses = append(r.statuses, sw.code)
	r.mu.Unlock()
}

func (r *recorder) take() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.statuses
	r.statuses = nil
	return s
}

func TestPageCaching(t *testing.T) {
	tests := []struct {
		name    string
		opts    []indextest.Option
		advance time.Duration
		want    []int // statuses seen by the server on the second lock
	}{
		{"revalidated with etag", nil, 0, []int{http.StatusNotModified}},
		{"fresh within max-age", []indextest.Option{indextest.WithMaxAge(600)}, time.Minute, nil},
		{"stale after max-age", []indextest.Option{indextest.WithMaxAge(600)}, time.Hour, []int{http.StatusNotModified}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{ix: indextest.New(tt.opts...)}
			rec.ix.MustAddWheel(demo)
			srv := httptest.NewServer(rec)
			defer srv.Close()
			store, _ := cache.Open(t.TempDir())
			now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			c := newClient(t, srv.URL+"/simple/", WithCache(store), WithClock(clock))
			p1, err := c.Project(context.Background(), "demo-pkg")
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.take(); len(got) != 1 || got[0] != 200 {
				t.Fatalf("first fetch statuses = %v", got)
			}
			now = now.Add(tt.advance)
			c2 := newClient(t, srv.URL+"/simple/", WithCache(store), WithClock(clock))
			p2, err := c2.Project(context.Background(), "demo-pkg")
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.take(); !equalInts(got, tt.want) {
				t.Errorf("second fetch statuses = %v, want %v", got, tt.want)
			}
			if len(p2.Files) != 1 || p2.Files[0] != p1.Files[0] {
				t.Errorf("cached page gave %v, want %v", p2.Files, p1.Files)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCorruptedCacheIsRefetched damages every blob in the cache and checks
// that the next run notices and goes back to the index.
func TestCorruptedCacheIsRefetched(t *testing.T) {
	srv := indextest.NewServer(indextest.WithMaxAge(600))
	defer srv.Close()
	wheel := srv.MustAddWheel(demo)
	store, _ := cache.Open(t.TempDir())
	ctx := context.Background()
	c := newClient(t, srv.URL, WithCache(store))
	p, err := c.Project(ctx, "demo-pkg")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Metadata(ctx, p.Files[0]); err != nil {
		t.Fatal(err)
	}
	path, err := c.Fetch(ctx, p.Files[0])
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(store.BlobPath("x")))
	if len(entries) != 4 {
		t.Fatalf("cache holds %d blobs, want 4 (page, parsed page, metadata, wheel)", len(entries))
	}
	for _, e := range entries {
		os.WriteFile(store.BlobPath(e.Name()), []byte("garbage"), 0o644)
	}
	srv.ResetRequests()

	c2 := newClient(t, srv.URL, WithCache(store))
	p2, err := c2.Project(ctx, "demo-pkg")
	if err != nil {
		t.Fatalf("Project after corruption: %v", err)
	}
	if _, err := c2.Metadata(ctx, p2.Files[0]); err != nil {
		t.Fatalf("Metadata after corruption: %v", err)
	}
	path2, err := c2.Fetch(ctx, p2.Files[0])
	if err != nil {
		t.Fatalf("Fetch after corruption: %v", err)
	}
	got, _ := os.ReadFile(path2)
	if path2 != path || string(got) != string(wheel) {
		t.Error("refetched wheel differs")
	}
	if n := srv.TotalRequests(); n != 3 {
		t.Errorf("requests after corruption = %d, want 3 (page, metadata, wheel)", n)
	}
}

// TestHashedMetadataIsReadByItsHash: a PEP 658 file whose sha256 the page
// gives is found in the blob store by that hash, with no entry of its own
// to read (a warm lock opens one file per metadata, not two), and a
// damaged one is fetched again.
func TestHashedMetadataIsReadByItsHash(t *testing.T) {
	srv := indextest.NewServer(indextest.WithMaxAge(600))
	defer srv.Close()
	srv.MustAddWheel(demo)
	store, _ := cache.Open(t.TempDir())
	ctx := context.Background()
	c := newClient(t, srv.URL, WithCache(store))
	p, err := c.Project(ctx, "demo-pkg")
	if err != nil {
		t.Fatal(err)
	}
	f := p.Files[0]
	if !f.HasMetadata || f.MetadataSHA256 == "" {
		t.Fatalf("the stand-in index gave no metadata sha256: %+v", f)
	}
	if _, err := c.Metadata(ctx, f); err != nil {
		t.Fatal(err)
	}
	refs, _ := os.ReadDir(filepath.Join(store.Dir(), "refs"))
	if len(refs) != 1 {
		t.Errorf("cache holds %d entries, want 1 (the page's)", len(refs))
	}
	if _, err := os.Stat(store.BlobPath(f.MetadataSHA256)); err != nil {
		t.Fatalf("metadata blob not stored by its sha256: %v", err)
	}
	srv.ResetRequests()
	c2 := newClient(t, srv.URL, WithCache(store))
	m, err := c2.Metadata(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != demo.Version {
		t.Errorf("cached metadata version = %q, want %q", m.Version, demo.Version)
	}
	if n := srv.TotalRequests(); n != 0 {
		t.Errorf("cached metadata made %d requests", n)
	}
	os.WriteFile(store.BlobPath(f.MetadataSHA256), []byte("Metadata-Version: 2.1\nName: evil\nVersion: 6.6.6\n"), 0o644)
	m, err = newClient(t, srv.URL, WithCache(store)).Metadata(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != demo.Version || srv.TotalRequests() != 1 {
		t.Errorf("damaged metadata blob: got version %q after %d requests, want %q after 1", m.Version, srv.TotalRequests(), demo.Version)
	}
}

// TestPageReadFromParsedForm: a fresh cached page is read from its parsed
// form, not parsed again; a parsed form that is damaged, or was parsed
// from another body, is not used; and an entry written before parsed forms
// were kept gains one on its first read.
func TestPageReadFromParsedForm(t *testing.T) {
	srv := indextest.NewServer(indextest.WithMaxAge(600))
	defer srv.Close()
	srv.MustAddWheel(demo)
	store, _ := cache.Open(t.TempDir())
	ctx := context.Background()
	want, err := newClient(t, srv.URL, WithCache(store)).Project(ctx, "demo-pkg")
	if err != nil {
		t.Fatal(err)
	}
	key := "page\x00" + Accept + "\x00" + srv.URL + "demo-pkg/"
	entry, err := store.Lookup(key)
	if err != nil || entry.Parsed == "" {
		t.Fatalf("page entry %+v, %v: no parsed form kept", entry, err)
	}
	read := func(what string) {
		t.Helper()
		srv.ResetRequests()
		got, err := newClient(t, srv.URL, WithCache(store)).Project(ctx, "demo-pkg")
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: page %+v, want %+v", what, got, want)
		}
		if n := srv.TotalRequests(); n != 0 {
			t.Errorf("%s: %d requests, want none", what, n)
		}
	}
	// The body is not read while the parsed form is good.
	body, _ := os.ReadFile(store.BlobPath(entry.Digest))
	os.Remove(store.BlobPath(entry.Digest))
	read("without the body")
	os.WriteFile(store.BlobPath(entry.Digest), body, 0o644)

	// A parsed form of another body is not used: the body is parsed again.
	other := *want
	other.Files = nil
	forged, _ := store.PutBlob(encodeProject(&other, strings.Repeat("0", 64)))
	entry.Parsed = forged
	store.Touch(key, entry)
	read("with another body's parsed form")

	// Damaged, or missing from an older entry: parsed again, and kept.
	for _, damage := range []func(){
		func() { os.WriteFile(store.BlobPath(entry.Parsed), []byte("garbage"), 0o644) },
		func() { entry.Parsed = ""; store.Touch(key, entry) },
	} {
		if e, _ := store.Lookup(key); e.Parsed != "" {
			entry = e
		}
		damage()
		read("after damage")
		if e, err := store.Lookup(key); err != nil || e.Parsed == "" || e.Parsed == forged {
			t.Errorf("entry after reparsing: %+v, %v: want a new parsed form", e, err)
		}
	}
}
