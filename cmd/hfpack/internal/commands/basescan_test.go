package commands

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/hfpack/hfpack/lockfile/indextest"
)

// unlabeledDebian writes an OCI layout of a Debian 12 rootfs with Python
// 3.11 and no hfpack labels nor PYTHON_VERSION, as a user would push one.
func unlabeledDebian(t *testing.T, dir string) v1.Hash {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range []struct{ name, body string }{
		{"etc/os-release", "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n"},
		{"usr/bin/python3.11", "ELF"},
		{"usr/lib/python3.11/os.py", "#"},
	} {
		tw.WriteHeader(&tar.Header{Name: m.name, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(m.body))})
		tw.Write([]byte(m.body))
	}
	tw.Close()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	d, _ := l.Digest()
	return d
}

// A user's own base is understood from its files: its Python 3.11 is used
// (no runtime added), its glibc comes from /etc/os-release, bases says so,
// and the layers are read once: later runs use the facts cached by digest.
func TestOwnBaseDetectedFromLayers(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("HFPACK_CACHE_DIR", cache)
	srv := indextest.NewServer()
	defer srv.Close()
	srv.MustAddWheel(indextest.WheelSpec{Name: "hfpack-demo-text", Version: "1.0.0", TopLevel: []string{"demo_text"}})
	m := exampleCopy(t, srv.URL)
	layerDigest := unlabeledDebian(t, filepath.Join(filepath.Dir(m), ".hfpack", "base"))
	code, _, stderr := run(t, "lock", m)
	if code != ExitOK {
		t.Fatalf("lock: %s", stderr)
	}
	// The one read of the layers is reported (a registry base's are
	// downloaded), and only once.
	if !strings.Contains(stderr, "reading the base's layers") {
		t.Errorf("lock does not report reading the base's layers:\n%s", stderr)
	}
	code, stdout, stderr := run(t, "bases", m)
	if code != ExitOK {
		t.Fatalf("bases: exit %d\n%s", code, stderr)
	}
	if strings.Contains(stderr, "reading the base's layers") {
		t.Errorf("bases read the layers again:\n%s", stderr)
	}
	for _, want := range []string{
		"python:  3.11 at /usr/bin/python3.11",
		"the base's Python 3.11 at /usr/bin/python3.11 was found in its own files (/usr/bin/python3.11 in layer 1 of 1)",
		"the base's glibc 2.36 comes from its own files (/etc/os-release in layer 1: debian 12, whose glibc is 2.36)",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("bases does not say %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "runtime:") {
		t.Errorf("a second interpreter was added to a base that has Python 3.11:\n%s", stdout)
	}
	if _, err := os.Stat(filepath.Join(cache, "basescan", strings.ReplaceAll(layerDigest.String(), ":", "-")+".json")); err != nil {
		t.Errorf("the layer's facts are not cached by digest: %v", err)
	}
	// The layer blob gone, the cached facts still answer.
	os.Remove(filepath.Join(filepath.Dir(m), ".hfpack", "base", "blobs", "sha256", layerDigest.Hex))
	if code, stdout, stderr = run(t, "bases", m); code != ExitOK || !strings.Contains(stdout, "was found in its own files") {
		t.Errorf("bases without the layer blob: exit %d\n%s%s", code, stdout, stderr)
	}
}
