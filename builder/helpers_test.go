package builder_test

import (
	"archive/tar"
	"io"
	"log"
	"os"
	"testing"
)

func nopLog() *log.Logger { return log.New(io.Discard, "", 0) }

func mustOpen(t *testing.T, p string) io.ReadCloser {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func tarNames(t *testing.T, l interface {
	Uncompressed() (io.ReadCloser, error)
}) []string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var names []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}
