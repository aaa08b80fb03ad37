package index

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hfpack/hfpack/lockfile/indextest"
)

var demo = indextest.WheelSpec{
	Name: "Demo_Pkg", Version: "1.2.0", RequiresPython: ">=3.9,<4",
	RequiresDist: []string{"numpy>=1.20", `cupy; extra == "gpu"`}, ProvidesExtra: []string{"gpu"},
}

func TestProjectFlavours(t *testing.T) {
	upload := time.Date(2024, 9, 4, 19, 0, 0, 123456000, time.UTC)
	tests := []struct {
		name     string
		opts     []indextest.Option
		json     bool // the page served is JSON (so size and upload-time are known)
		metadata bool
	}{
		{"json with pep658", nil, true, true},
		{"json without pep658", []indextest.Option{indextest.WithoutMetadata()}, true, false},
		{"json legacy metadata key", []indextest.Option{indextest.LegacyMetadataKey(), indextest.JSONOnly()}, true, true},
		{"html with pep658", []indextest.Option{indextest.HTMLOnly()}, false, true},
		{"html without pep658", []indextest.Option{indextest.HTMLOnly(), indextest.WithoutMetadata()}, false, false},
		{"html legacy metadata key relative", []indextest.Option{indextest.HTMLOnly(), indextest.LegacyMetadataKey(), indextest.RelativeURLs()}, false, true},
		{"json relative api 1.0", []indextest.Option{indextest.RelativeURLs(), indextest.WithAPIVersion("1.0")}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := indextest.NewServer(tt.opts...)
			defer srv.Close()
			wheel := srv.MustAddWheel(demo, indextest.UploadTime(upload))
			srv.MustAddWheel(indextest.WheelSpec{Name: "demo-pkg", Version: "1.1.0"}, indextest.Yanked("bad build"))
			srv.AddFile("demo-pkg", "demo_pkg-1.2.0.tar.gz", []byte("sdist"))

			c := newClient(t, srv.URL)
			p, err := c.Project(context.Background(), "Demo.Pkg")
			if err != nil {
				t.Fatalf("Project: %v", err)
			}
			want := []File{
				{Filename: "demo_pkg-1.1.0-py3-none-any.whl", Yanked: true, YankedReason: "bad build"},
				{Filename: "demo_pkg-1.2.0-py3-none-any.whl", RequiresPython: ">=3.9,<4"},
				{Filename: "demo_pkg-1.2.0.tar.gz"},
			}
			for i := range want {
				want[i].URL = srv.FileURL(want[i].Filename)
				want[i].Index = srv.URL
				want[i].HasMetadata = tt.metadata && strings.HasSuffix(want[i].Filename, ".whl")
			}
			want[1].SHA256 = sha256Hex(wheel)
			if tt.json {
				want[1].Size = int64(len(wheel))
				want[1].UploadTime = upload
			}
			ignore := cmpopts.IgnoreFields(File{}, "MetadataSHA256")
			if d := cmp.Diff(want[1], p.Files[1], ignore); d != "" {
				t.Errorf("Files[1] (-want +got):\n%s", d)
			}
			if d := cmp.Diff(want, p.Files, ignore, cmpopts.IgnoreFields(File{}, "SHA256", "Size", "UploadTime")); d != "" {
				t.Errorf("Files (-want +got):\n%s", d)
			}
			if p.Name != "demo-pkg" || p.Index != srv.URL {
				t.Errorf("Project = %q on %q", p.Name, p.Index)
			}

			m, err := c.Metadata(context.Background(), p.Files[1])
			if err != nil {
				t.Fatalf("Metadata: %v", err)
			}
			if d := cmp.Diff(demo.RequiresDist, m.RequiresDist); d != "" || m.Version != "1.2.0" || m.RequiresPython != ">=3.9,<4" {
				t.Errorf("Metadata = %+v; Requires-Dist (-want +got):\n%s", m, d)
			}
			whl := indextest.FilePath(p.Files[1].Filename)
			if n := srv.Requests(whl); tt.metadata && n != 0 {
				t.Errorf("wheel requested %d times although a metadata file was offered", n)
			}
			if n, r := srv.Requests(whl), srv.RangeRequests(whl); !tt.metadata && (n != 1 || r != 1) {
				t.Errorf("wheel requested %d times (%d with Range), want one range request", n, r)
			}
			// A second client on the same cache needs no metadata request.
			before := srv.TotalRequests()
			c2, _ := New(srv.URL, append(testOptions(t), WithCache(c.Cache()))...)
			if _, err := c2.Metadata(context.Background(), p.Files[1]); err != nil {
				t.Fatal(err)
			}
			if n := srv.TotalRequests() - before; n != 0 {
				t.Errorf("cached metadata made %d requests", n)
			}
			if _, err := c.Metadata(context.Background(), p.Files[2]); err == nil {
				t.Error("Metadata of an sdist succeeded")
			}
		})
	}
}

func TestProjectNotFound(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	c := newClient(t, srv.URL)
	_, err := c.Project(context.Background(), "nope")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Project error = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "project nope not found on index "+srv.URL) {
		t.Errorf("error %q does not name the project and index", err)
	}
	if _, err := c.Project(context.Background(), "../admin"); err == nil {
		t.Error("Project accepted an invalid name")
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		fault    indextest.Fault
		retries  int
		wantErr  bool
		requests int
	}{
		{"500 twice then ok", indextest.Fault{Status: 500, Times: 2}, 4, false, 3},
		{"429 with retry-after", indextest.Fault{Status: 429, Times: 1, RetryAfter: "0"}, 4, false, 2},
		{"503 beyond retries", indextest.Fault{Status: 503}, 2, true, 3},
		{"403 is not retried", indextest.Fault{Status: 403}, 4, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := indextest.NewServer()
			defer srv.Close()
			srv.MustAddWheel(demo)
			srv.InjectFault(indextest.ProjectPath("demo-pkg"), tt.fault)
			c := newClient(t, srv.URL, WithRetries(tt.retries))
			_, err := c.Project(context.Background(), "demo-pkg")
			if (err != nil) != tt.wantErr {
				t.Fatalf("Project error = %v, wantErr %t", err, tt.wantErr)
			}
			var se *StatusError
			if tt.wantErr && (!errors.As(err, &se) || se.StatusCode != tt.fault.Status) {
				t.Errorf("error %v is not a *StatusError with status %d", err, tt.fault.Status)
			}
			if n := srv.Requests(indextest.ProjectPath("demo-pkg")); n != tt.requests {
				t.Errorf("requests = %d, want %d", n, tt.requests)
			}
		})
	}
}

func TestWheelDownloadRetries(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	wheel := srv.MustAddWheel(demo)
	srv.InjectFault(indextest.FilePath(demo.Filename()), indextest.Fault{Status: 502, Times: 2})
	c := newClient(t, srv.URL)
	p, err := c.Project(context.Background(), "demo-pkg")
	if err != nil {
		t.Fatal(err)
	}
	path, err := c.Fetch(context.Background(), p.Files[0])
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != string(wheel) {
		t.Error("fetched file differs from the wheel")
	}
	if _, err := c.Fetch(context.Background(), p.Files[0]); err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests(indextest.FilePath(demo.Filename())); n != 3 {
		t.Errorf("wheel requests = %d, want 3 (two 502s, one download, then the cache)", n)
	}
}

func TestTruncatedJSONNotCached(t *testing.T) {
	srv := indextest.NewServer(indextest.JSONOnly())
	defer srv.Close()
	srv.MustAddWheel(demo)
	srv.InjectFault(indextest.ProjectPath("demo-pkg"), indextest.Fault{Truncate: true, Times: 1})
	c := newClient(t, srv.URL)
	_, err := c.Project(context.Background(), "demo-pkg")
	if err == nil || !strings.Contains(err.Error(), "parsing JSON page") {
		t.Fatalf("Project error = %v, want a JSON parse error", err)
	}
	// A fresh client on the same cache must fetch again, not reuse the bad page.
	c2, _ := New(srv.URL, append(testOptions(t), WithCache(c.Cache()))...)
	p, err := c2.Project(context.Background(), "demo-pkg")
	if err != nil || len(p.Files) != 1 {
		t.Fatalf("Project after fault = %v, %v", p, err)
	}
}

func TestFetchWrongSHA256(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	srv.MustAddWheel(demo, indextest.WrongSHA256())
	c := newClient(t, srv.URL)
	p, err := c.Project(context.Background(), "demo-pkg")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Fetch(context.Background(), p.Files[0])
	var he *HashError
	if !errors.As(err, &he) || he.Want != p.Files[0].SHA256 {
		t.Fatalf("Fetch error = %v, want *HashError", err)
	}
	blobs, _ := os.ReadDir(filepath.Join(c.Cache().Dir(), "blobs", "sha256"))
	for _, b := range blobs {
		if b.Name() == he.Got {
			t.Error("the mismatching wheel was cached")
		}
		if strings.HasPrefix(b.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", b.Name())
		}
	}
	// Without PEP 658 the metadata path downloads the wheel and must refuse it too.
	srv2 := indextest.NewServer(indextest.WithoutMetadata())
	defer srv2.Close()
	srv2.MustAddWheel(demo, indextest.WrongSHA256())
	c2 := newClient(t, srv2.URL, WithRangeRequests(false))
	p2, _ := c2.Project(context.Background(), "demo-pkg")
	if _, err := c2.Metadata(context.Background(), p2.Files[0]); !errors.As(err, &he) {
		t.Errorf("Metadata error = %v, want *HashError", err)
	}
}

func TestMetadataWrongSHA256(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	srv.MustAddWheel(demo, indextest.WrongMetadataSHA256())
	c := newClient(t, srv.URL)
	p, _ := c.Project(context.Background(), "demo-pkg")
	_, err := c.Metadata(context.Background(), p.Files[0])
	var he *HashError
	if !errors.As(err, &he) {
		t.Fatalf("Metadata error = %v, want *HashError", err)
	}
	if _, _, err := c.Cache().Get("metadata\x00" + p.Files[0].SHA256); err == nil {
		t.Error("mismatching metadata was cached")
	}
}

func TestFetchNeedsHash(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	srv.MustAddWheel(demo, indextest.NoHash())
	c := newClient(t, srv.URL)
	p, _ := c.Project(context.Background(), "demo-pkg")
	if _, err := c.Fetch(context.Background(), p.Files[0]); err == nil || !strings.Contains(err.Error(), "no sha256") {
		t.Errorf("Fetch of an unhashed file error = %v", err)
	}
}

func TestAPIVersion(t *testing.T) {
	for _, flavour := range []indextest.Option{indextest.JSONOnly(), indextest.HTMLOnly()} {
		srv := indextest.NewServer(flavour, indextest.WithAPIVersion("2.0"))
		srv.MustAddWheel(demo)
		c := newClient(t, srv.URL)
		if _, err := c.Project(context.Background(), "demo-pkg"); !errors.Is(err, ErrUnsupportedAPI) {
			t.Errorf("api-version 2.0 error = %v, want ErrUnsupportedAPI", err)
		}
		srv.Close()

		srv = indextest.NewServer(flavour, indextest.WithAPIVersion("1.99"))
		srv.MustAddWheel(demo)
		p, err := newClient(t, srv.URL).Project(context.Background(), "demo-pkg")
		if err != nil || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "1.99") {
			t.Errorf("api-version 1.99: %v, warnings %v", err, p)
		}
		srv.Close()
	}
}

func TestRetriesConnectionFailures(t *testing.T) {
	for _, fault := range []indextest.Fault{{Hangup: true, Times: 2}, {CutBody: true, Times: 2}} {
		srv := indextest.NewServer()
		wheel := srv.MustAddWheel(demo)
		srv.InjectFault(indextest.ProjectPath("demo-pkg"), fault)
		srv.InjectFault(indextest.FilePath(demo.Filename()), fault)
		c := newClient(t, srv.URL)
		p, err := c.Project(context.Background(), "demo-pkg")
		if err != nil {
			t.Fatalf("Project with %+v: %v", fault, err)
		}
		path, err := c.Fetch(context.Background(), p.Files[0])
		if err != nil {
			t.Fatalf("Fetch with %+v: %v", fault, err)
		}
		if got, _ := os.ReadFile(path); string(got) != string(wheel) {
			t.Errorf("Fetch with %+v gave a different file", fault)
		}
		if n := srv.Requests(indextest.FilePath(demo.Filename())); n != 3 {
			t.Errorf("wheel requests with %+v = %d, want 3", fault, n)
		}
		srv.Close()
	}
}

func TestMetadataRangeRequests(t *testing.T) {
	// 200 KiB of incompressible data after METADATA pushes its local header
	// out of the first (suffix) range read.
	noise := make([]byte, 200<<10)
	x := uint32(1)
	for i := range noise {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		noise[i] = byte(x)
	}
	big := demo
	big.Raw = []indextest.WheelFile{{Path: "demo_pkg/blob.bin", Data: noise}}
	tests := []struct {
		name       string
		opts       []indextest.Option
		clientOpts []Option
		wantRanges bool
	}{
		{"ranges", nil, nil, true},
		{"server ignores ranges", []indextest.Option{indextest.WithoutRanges()}, nil, false},
		{"ranges disabled", nil, []Option{WithRangeRequests(false)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := indextest.NewServer(append(tt.opts, indextest.WithoutMetadata())...)
			defer srv.Close()
			srv.MustAddWheel(big)
			c := newClient(t, srv.URL, tt.clientOpts...)
			p, err := c.Project(context.Background(), "demo-pkg")
			if err != nil {
				t.Fatal(err)
			}
			m, err := c.Metadata(context.Background(), p.Files[0])
			if err != nil {
				t.Fatalf("Metadata: %v", err)
			}
			if d := cmp.Diff(demo.RequiresDist, m.RequiresDist); d != "" {
				t.Errorf("Requires-Dist (-want +got):\n%s", d)
			}
			_, cacheErr := os.Stat(c.Cache().BlobPath(p.Files[0].SHA256))
			path := indextest.FilePath(big.Filename())
			if tt.wantRanges {
				if n, r := srv.Requests(path), srv.RangeRequests(path); n != r || n < 2 {
					t.Errorf("wheel requests = %d (%d ranged), want only range requests, at least 2", n, r)
				}
				if cacheErr == nil {
					t.Error("the whole wheel was cached although ranges work")
				}
			} else if cacheErr != nil {
				t.Errorf("wheel not in the cache after a full download: %v", cacheErr)
			}
		})
	}
}
