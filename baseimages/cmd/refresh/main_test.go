package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hfpack/hfpack/baseimages"
)

const stale = "sha256:0000000000000000000000000000000000000000000000000000000000000000"

func TestRefreshImages(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host + "/nvidia/cuda:12.8.1-base-ubuntu24.04")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	cat := &baseimages.Catalog{Images: []baseimages.Image{
		{Repository: host + "/nvidia/cuda", Tag: "12.8.1-base-ubuntu24.04", Digest: stale},
		{Repository: host + "/nvidia/cuda", Tag: "deleted-upstream", Digest: stale, Source: "kept"},
	}}
	var logs bytes.Buffer
	refreshImages(context.Background(), cat, "2026-01-02", &logs)

	if got := cat.Images[0]; got.Digest != want.String() || !got.DigestVerified || !strings.Contains(got.Source, "2026-01-02") {
		t.Errorf("refreshed image = %+v, want digest %s, verified", got, want)
	}
	if got := cat.Images[1]; got.Digest != stale || got.DigestVerified || got.Source != "kept" {
		t.Errorf("unreachable tag changed: %+v", got)
	}
	if !strings.Contains(logs.String(), "keep "+host+"/nvidia/cuda:deleted-upstream") {
		t.Errorf("log does not report the kept row:\n%s", logs.String())
	}
}

func TestRefreshRuntimes(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/20241016/SHA256SUMS" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "%s  cpython-3.11.10+20241016-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz\n%s  other.tar.gz\n", sum, strings.Repeat("cd", 32))
	}))
	defer srv.Close()
	cat := &baseimages.Catalog{Runtimes: []baseimages.PythonRuntime{
		{Python: "3.11", Arch: "x86_64", URL: srv.URL + "/20241016/cpython-3.11.10%2B20241016-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz", SHA256: strings.Repeat("0", 64)},
		{Python: "3.12", Arch: "x86_64", URL: srv.URL + "/missing/cpython-3.12.7.tar.gz", SHA256: strings.Repeat("1", 64)},
	}}
	refreshRuntimes(context.Background(), cat, "", "2026-01-02", &bytes.Buffer{})
	if got := cat.Runtimes[0]; got.SHA256 != sum || !got.SHA256Verified {
		t.Errorf("runtime 3.11 = %+v, want sha256 %s, verified", got, sum)
	}
	if got := cat.Runtimes[1]; got.SHA256 != strings.Repeat("1", 64) || got.SHA256Verified {
		t.Errorf("unreachable runtime changed: %+v", got)
	}
}

// -python-release moves each row to the release's newest build of its
// Python minor and arch, ignoring pre-releases, other arches and the
// non-stripped archives, and rewrites the data files in the same format.
func TestRefreshRuntimesNewRelease(t *testing.T) {
	sums := map[string]string{
		"cpython-3.11.16+20260814-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz":  strings.Repeat("11", 32),
		"cpython-3.11.9+20260814-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz":   strings.Repeat("22", 32),
		"cpython-3.11.16+20260814-x86_64-unknown-linux-gnu-install_only.tar.gz":           strings.Repeat("33", 32),
		"cpython-3.11.16+20260814-aarch64-unknown-linux-gnu-install_only_stripped.tar.gz": strings.Repeat("44", 32),
		"cpython-3.15.0a1+20260814-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz": strings.Repeat("55", 32),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/download/20260814/SHA256SUMS" {
			http.NotFound(w, r)
			return
		}
		for name, sum := range sums {
			fmt.Fprintf(w, "%s  %s\n", sum, name)
		}
	}))
	defer srv.Close()
	cat := &baseimages.Catalog{Runtimes: []baseimages.PythonRuntime{
		{Python: "3.11", Arch: "aarch64", Version: "3.11.10", URL: srv.URL + "/download/20241016/cpython-3.11.10%2B20241016-aarch64-unknown-linux-gnu-install_only_stripped.tar.gz", SHA256: strings.Repeat("0", 64), SHA256Verified: true},
		{Python: "3.11", Arch: "x86_64", Version: "3.11.10", URL: srv.URL + "/download/20241016/cpython-3.11.10%2B20241016-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz", SHA256: strings.Repeat("0", 64), SHA256Verified: true},
		{Python: "3.9", Arch: "x86_64", Version: "3.9.25", URL: srv.URL + "/download/20251031/cpython-3.9.25%2B20251031-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz", SHA256: strings.Repeat("9", 64), SHA256Verified: true},
	}}
	refreshRuntimes(context.Background(), cat, "20260814", "2026-09-01", &bytes.Buffer{})
	want := []struct{ version, file, sum string }{
		{"3.11.16", "cpython-3.11.16%2B20260814-aarch64-unknown-linux-gnu-install_only_stripped.tar.gz", strings.Repeat("44", 32)},
		{"3.11.16", "cpython-3.11.16%2B20260814-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz", strings.Repeat("11", 32)},
		{"3.9.25", "cpython-3.9.25%2B20251031-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz", strings.Repeat("9", 64)},
	}
	for i, w := range want {
		got := cat.Runtimes[i]
		if got.Version != w.version || !strings.HasSuffix(got.URL, "/"+w.file) || got.SHA256 != w.sum || !got.SHA256Verified {
			t.Errorf("row %d = %+v, want %s %s %s, verified", i, got, w.version, w.file, w.sum)
		}
	}
}
