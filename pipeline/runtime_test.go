package pipeline

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/baseimages"
)

type member struct {
	name, link, body string
	typ              byte
}

func tgz(t *testing.T, ms []member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, m := range ms {
		h := &tar.Header{Name: m.name, Typeflag: m.typ, Linkname: m.link, Mode: 0o755, Size: int64(len(m.body))}
		if m.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if m.typ == tar.TypeReg {
			tw.Write([]byte(m.body))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func serveRuntime(t *testing.T, archive []byte) (*baseimages.PythonRuntime, *int) {
	t.Helper()
	hits := new(int)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*hits++
		w.Write(archive)
	}))
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(archive)
	return &baseimages.PythonRuntime{Python: "3.11", URL: srv.URL + "/cpython.tar.gz", SHA256: hex.EncodeToString(sum[:]),
		SHA256Verified: true, Prefix: "/opt/hfpack/python"}, hits
}

var goodRuntime = []member{
	{name: "python/", typ: tar.TypeDir},
	{name: "python/bin/python3.11", body: "#!elf", typ: tar.TypeReg},
	{name: "python/bin/python3", link: "python3.11", typ: tar.TypeSymlink},
	{name: "python/lib/python3.11/os.py", body: "# os", typ: tar.TypeReg},
}

func TestFetchRuntimeOnceAndCached(t *testing.T) {
	rt, hits := serveRuntime(t, tgz(t, goodRuntime))
	root := t.TempDir()
	for i := 0; i < 2; i++ {
		dir, err := FetchRuntime(context.Background(), root, rt, nil)
		if err != nil {
			t.Fatalf("FetchRuntime() = %v", err)
		}
		if link, err := os.Readlink(filepath.Join(dir, "bin", "python3")); err != nil || link != "python3.11" {
			t.Errorf("bin/python3 -> %q, %v", link, err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "lib", "python3.11", "os.py")); string(b) != "# os" {
			t.Errorf("os.py = %q", b)
		}
	}
	if *hits != 1 {
		t.Errorf("downloaded %d times, want once", *hits)
	}
}

func TestFetchRuntimeRefuses(t *testing.T) {
	tests := []struct {
		name    string
		members []member
		tamper  func(*baseimages.PythonRuntime)
		want    string
	}{
		{"unverified checksum", goodRuntime, func(r *baseimages.PythonRuntime) { r.SHA256Verified = false }, "no verified sha256"},
		{"wrong checksum", goodRuntime, func(r *baseimages.PythonRuntime) { r.SHA256 = strings.Repeat("0", 64) }, "sha256"},
		{"escaping member", append(goodRuntime[:2:2], member{name: "python/../../etc/passwd", body: "x", typ: tar.TypeReg}), nil, "outside python/"},
		{"escaping symlink", append(goodRuntime[:2:2], member{name: "python/lib/evil", link: "../../../etc", typ: tar.TypeSymlink}), nil, "leaves the runtime"},
		{"not install_only", []member{{name: "python/lib/x.py", body: "", typ: tar.TypeReg}}, nil, "no python/bin"},
		{"device node", append(goodRuntime[:2:2], member{name: "python/dev", typ: tar.TypeChar}), nil, "unsupported type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt, _ := serveRuntime(t, tgz(t, tc.members))
			if tc.tamper != nil {
				tc.tamper(rt)
			}
			root := t.TempDir()
			_, err := FetchRuntime(context.Background(), root, rt, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("FetchRuntime() = %v, want error containing %q", err, tc.want)
			}
			if tc.name == "unverified checksum" && !errors.Is(err, ErrUnverifiedRuntime) {
				t.Errorf("error is not ErrUnverifiedRuntime")
			}
			entries, _ := os.ReadDir(filepath.Join(root, "runtimes"))
			for _, e := range entries {
				t.Errorf("left behind %s after a failed extraction", e.Name())
			}
		})
	}
}

// A cached archive damaged before it was extracted (the extraction failed,
// was removed, or never ran) is not trusted: it is fetched again.
func TestFetchRuntimeRefetchesDamagedArchive(t *testing.T) {
	rt, hits := serveRuntime(t, tgz(t, goodRuntime))
	root := t.TempDir()
	if _, err := FetchRuntime(context.Background(), root, rt, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "runtimes")); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(root, "index", "blobs", "sha256", rt.SHA256)
	if err := os.WriteFile(archive, tgz(t, append(goodRuntime[:3:3], member{name: "python/lib/python3.11/os.py", body: "# evil", typ: tar.TypeReg})), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, err := FetchRuntime(context.Background(), root, rt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "lib", "python3.11", "os.py")); string(b) != "# os" {
		t.Errorf("os.py = %q: the damaged archive was extracted", b)
	}
	if *hits != 2 {
		t.Errorf("downloaded %d times, want twice", *hits)
	}
}
