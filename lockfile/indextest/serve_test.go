package indextest

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func get(t *testing.T, url, accept string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestServerNegotiation(t *testing.T) {
	tests := []struct {
		name   string
		opts   []Option
		accept string
		want   string
		status int
	}{
		{"json preferred", nil, "application/vnd.pypi.simple.v1+json, text/html;q=0.01", JSONType, 200},
		{"html asked", nil, "text/html", "text/html", 200},
		{"no accept", nil, "", JSONType, 200},
		{"html only", []Option{HTMLOnly()}, JSONType, "text/html", 200},
		{"json only refuses html", []Option{JSONOnly()}, "text/html", "", 406},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(tt.opts...)
			defer s.Close()
			s.MustAddWheel(WheelSpec{Name: "Foo", Version: "1.0"})
			resp, _ := get(t, s.URL+"foo/", tt.accept)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == 200 && resp.Header.Get("Content-Type") != tt.want {
				t.Errorf("Content-Type = %q, want %q", resp.Header.Get("Content-Type"), tt.want)
			}
		})
	}
}

func TestServerPageContent(t *testing.T) {
	s := NewServer(RelativeURLs())
	defer s.Close()
	s.MustAddWheel(WheelSpec{Name: "torch", Version: "2.4.1+cu121", RequiresPython: ">=3.8"}, Yanked("broken"))
	s.AddFile("torch", "torch-2.4.1.tar.gz", []byte("sdist"))
	_, body := get(t, s.URL+"torch/", JSONType)
	var page struct {
		Files []map[string]any `json:"files"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Files) != 2 {
		t.Fatalf("files = %d, want 2", len(page.Files))
	}
	whl := page.Files[0] // "+" sorts before "."
	if whl["url"] != "../../files/torch-2.4.1%2Bcu121-py3-none-any.whl" || whl["yanked"] != "broken" || whl["core-metadata"] == nil {
		t.Errorf("wheel entry = %v", whl)
	}
	if page.Files[1]["core-metadata"] != nil {
		t.Errorf("sdist offers metadata: %v", page.Files[1])
	}
	_, html := get(t, s.URL+"torch/", "text/html")
	for _, want := range []string{`data-requires-python="&gt;=3.8"`, `data-yanked="broken"`, `data-core-metadata="sha256=`, `#sha256=`} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %s:\n%s", want, html)
		}
	}
	resp, meta := get(t, s.Root+"/files/torch-2.4.1%2Bcu121-py3-none-any.whl.metadata", "")
	if resp.StatusCode != 200 || !strings.Contains(meta, "Version: 2.4.1+cu121") {
		t.Errorf("metadata = %d %q", resp.StatusCode, meta)
	}
}

func TestServerFaults(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.MustAddWheel(WheelSpec{Name: "a", Version: "1"})
	s.InjectFault(ProjectPath("a"), Fault{Status: 500, Times: 2})
	var codes []int
	for range 3 {
		resp, _ := get(t, s.URL+"a/", "")
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 500 || codes[1] != 500 || codes[2] != 200 {
		t.Errorf("codes = %v, want [500 500 200]", codes)
	}
	if n := s.Requests(ProjectPath("a")); n != 3 {
		t.Errorf("Requests = %d, want 3", n)
	}
	s.InjectFault(ProjectPath("a"), Fault{Truncate: true})
	_, body := get(t, s.URL+"a/", JSONType)
	if json.Valid([]byte(body)) {
		t.Error("truncated page is valid JSON")
	}
	if resp, _ := get(t, s.URL+"missing/", ""); resp.StatusCode != 404 {
		t.Errorf("missing project status = %d", resp.StatusCode)
	}
}

func TestServerRevalidation(t *testing.T) {
	s := NewServer(WithMaxAge(60))
	defer s.Close()
	s.MustAddWheel(WheelSpec{Name: "a", Version: "1"})
	resp, _ := get(t, s.URL+"a/", JSONType)
	if resp.Header.Get("Cache-Control") != "max-age=60" {
		t.Errorf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
	}
	req, _ := http.NewRequest("GET", s.URL+"a/", nil)
	req.Header.Set("Accept", JSONType)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET status = %d, want 304", r2.StatusCode)
	}
}

func TestWriteIndexDir(t *testing.T) {
	ix := New()
	ix.MustAddWheel(WheelSpec{Name: "Foo_Bar", Version: "1.0"})
	ix.AddFile("only-sdist", "only_sdist-1.0.tar.gz", []byte("x"))
	dir := t.TempDir()
	if err := ix.WriteIndexDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"simple/index.html", "simple/foo-bar/index.html", "files/foo_bar-1.0-py3-none-any.whl",
		"files/foo_bar-1.0-py3-none-any.whl.metadata", "files/only_sdist-1.0.tar.gz"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
	page, _ := os.ReadFile(filepath.Join(dir, "simple/foo-bar/index.html"))
	if !strings.Contains(string(page), `href="../../files/foo_bar-1.0-py3-none-any.whl#sha256=`) {
		t.Errorf("page lacks relative link:\n%s", page)
	}
}
