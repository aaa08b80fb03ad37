package index

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/hfpack/hfpack/lockfile/indextest"
)

// TestStaticIndexDir serves indextest.WriteIndexDir output with a plain file
// server, as the bundled example does with python3 -m http.server.
func TestStaticIndexDir(t *testing.T) {
	ix := indextest.New()
	ix.MustAddWheel(indextest.WheelSpec{Name: "torch", Version: "2.4.1+cu121", Tag: "cp311-cp311-linux_x86_64", RequiresDist: []string{"filelock"}})
	ix.MustAddWheel(indextest.WheelSpec{Name: "filelock", Version: "3.16.1"})
	dir := t.TempDir()
	if err := ix.WriteIndexDir(dir); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	c := newClient(t, srv.URL+"/simple/")
	ctx := context.Background()
	p, err := c.Project(ctx, "torch")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Files) != 1 || p.Files[0].Filename != "torch-2.4.1+cu121-cp311-cp311-linux_x86_64.whl" || !p.Files[0].HasMetadata || p.Files[0].SHA256 == "" {
		t.Fatalf("files = %+v", p.Files)
	}
	m, err := c.Metadata(ctx, p.Files[0])
	if err != nil || len(m.RequiresDist) != 1 {
		t.Fatalf("Metadata = %+v, %v", m, err)
	}
	if _, err := c.Fetch(ctx, p.Files[0]); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentProjectFetchedOnce(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	srv.MustAddWheel(demo)
	c := newClient(t, srv.URL)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Project(context.Background(), "Demo-Pkg"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := srv.Requests(indextest.ProjectPath("demo-pkg")); n != 1 {
		t.Errorf("page requested %d times by 8 concurrent callers, want 1", n)
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in                string
		start, end, total int64
		ok                bool
	}{
		{"bytes 0-9/10", 0, 9, 10, true},
		{"bytes 100-199/1000", 100, 199, 1000, true},
		{"bytes 5-4/10", 0, 0, 0, false},
		{"bytes 0-9/9", 0, 0, 0, false},
		{"bytes 0-9/*", 0, 0, 0, false},
		{"items 0-9/10", 0, 0, 0, false},
		{"bytes -1-9/10", 0, 0, 0, false},
	}
	for _, tt := range tests {
		s, e, n, err := parseContentRange(tt.in)
		if (err == nil) != tt.ok || (tt.ok && (s != tt.start || e != tt.end || n != tt.total)) {
			t.Errorf("parseContentRange(%q) = %d, %d, %d, %v", tt.in, s, e, n, err)
		}
	}
}

// TestRedirectedPageResolvesAgainstFinalURL follows a redirect and resolves
// relative file links against where the page really came from.
func TestRedirectedPageResolvesAgainstFinalURL(t *testing.T) {
	ix := indextest.New(indextest.RelativeURLs())
	ix.MustAddWheel(demo)
	mux := http.NewServeMux()
	mux.Handle("/mirror/", http.StripPrefix("/mirror", ix))
	mux.HandleFunc("/simple/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/mirror"+r.URL.Path, http.StatusMovedPermanently)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := newClient(t, srv.URL+"/simple/")
	p, err := c.Project(context.Background(), "demo-pkg")
	if err != nil {
		t.Fatal(err)
	}
	if want := srv.URL + "/mirror/files/" + demo.Filename(); p.Files[0].URL != want {
		t.Errorf("URL = %s, want %s", p.Files[0].URL, want)
	}
	if _, err := c.Fetch(context.Background(), p.Files[0]); err != nil {
		t.Fatal(err)
	}
	// The cached page keeps resolving against the final URL.
	c2, _ := New(srv.URL+"/simple/", append(testOptions(t), WithCache(c.Cache()))...)
	p2, err := c2.Project(context.Background(), "demo-pkg")
	if err != nil || p2.Files[0].URL != p.Files[0].URL {
		t.Errorf("cached page URL = %v, %v", p2, err)
	}
}

func TestSize(t *testing.T) {
	srv := indextest.NewServer(indextest.HTMLOnly())
	defer srv.Close()
	wheel := srv.MustAddWheel(demo)
	srv.InjectFault(indextest.FilePath(demo.Filename()), indextest.Fault{Status: 503, Times: 1})
	m, err := NewMulti(srv.URL, nil, testOptions(t)...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Project(context.Background(), "demo-pkg")
	if err != nil {
		t.Fatal(err)
	}
	if p.Files[0].Size != 0 {
		t.Fatalf("HTML page gave a size: %d", p.Files[0].Size)
	}
	n, err := m.Size(context.Background(), p.Files[0])
	if err != nil || n != int64(len(wheel)) {
		t.Errorf("Size = %d, %v; want %d", n, err, len(wheel))
	}
	if r := srv.RangeRequests(indextest.FilePath(demo.Filename())); r != 0 {
		t.Errorf("Size made %d range requests", r)
	}
	missing := p.Files[0]
	missing.URL += "-gone"
	if _, err := m.Size(context.Background(), missing); !errors.Is(err, ErrNotFound) {
		t.Errorf("Size of a missing file = %v, want ErrNotFound", err)
	}
}
