package gcs_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/gcs"
)

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	return got
}

func TestDownload(t *testing.T) {
	f := &fakeGCS{bucket: "models", objects: map[string]string{
		"bert/v1/config.json":         `{"a":1}`,
		"bert/v1/model.safetensors":   strings.Repeat("w", 100000),
		"bert/v1/tokenizer/vocab.txt": "a\nb\n",
		"bert/v1/sub dir/ü #?.txt":    "odd name",
		"bert/v1/empty/":              "",
		"bert/v10/config.json":        "not this one",
		"other/config.json":           "nor this",
	}}
	srv := f.start(t)
	dir := filepath.Join(t.TempDir(), "model")
	n, err := gcs.Download(context.Background(), "gs://models/bert/v1", dir,
		gcs.WithEndpoint(srv.URL), gcs.WithHTTPClient(srv.Client()), gcs.WithConcurrency(2))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"config.json":         `{"a":1}`,
		"model.safetensors":   strings.Repeat("w", 100000),
		"tokenizer/vocab.txt": "a\nb\n",
		"sub dir/ü #?.txt":    "odd name",
	}
	if diff := cmp.Diff(want, readTree(t, dir)); diff != "" {
		t.Errorf("downloaded tree (-want +got):\n%s", diff)
	}
	if n != 4 {
		t.Errorf("Download = %d files, want 4", n)
	}
}

func TestDownloadChecksumMismatchLeavesNoFile(t *testing.T) {
	f := &fakeGCS{bucket: "b", objects: map[string]string{"m/w.bin": "weights"}, badCRC: map[string]bool{"m/w.bin": true}}
	srv := f.start(t)
	dir := t.TempDir()
	_, err := gcs.Download(context.Background(), "gs://b/m/", dir, gcs.WithEndpoint(srv.URL), gcs.WithHTTPClient(srv.Client()))
	if !errors.Is(err, gcs.ErrChecksum) {
		t.Errorf("Download with a bad checksum = %v, want ErrChecksum", err)
	}
	if got := readTree(t, dir); len(got) != 0 {
		t.Errorf("files left after a failed download: %v", got)
	}
}

func TestDownloadRefusesEscapingNames(t *testing.T) {
	for _, name := range []string{"m/../evil", "m//abs", "m/a/../../evil", "m/./x", "m/.hfpack-download/x.state"} {
		t.Run(name, func(t *testing.T) {
			f := &fakeGCS{bucket: "b", objects: map[string]string{name: "x"}}
			srv := f.start(t)
			dir := t.TempDir()
			_, err := gcs.Download(context.Background(), "gs://b/m", dir, gcs.WithEndpoint(srv.URL), gcs.WithHTTPClient(srv.Client()))
			if err == nil || !strings.Contains(err.Error(), "not a safe relative path") {
				t.Errorf("Download of %q = %v, want it refused", name, err)
			}
		})
	}
}

func TestDownloadErrors(t *testing.T) {
	f := &fakeGCS{bucket: "b", objects: map[string]string{}}
	srv := f.start(t)
	opts := []gcs.Option{gcs.WithEndpoint(srv.URL), gcs.WithHTTPClient(srv.Client())}
	if _, err := gcs.Download(context.Background(), "gs://b/m", t.TempDir(), opts...); err == nil || !strings.Contains(err.Error(), "no objects") {
		t.Errorf("Download of an empty prefix = %v, want 'no objects'", err)
	}
	_, err := gcs.Download(context.Background(), "gs://other/m", t.TempDir(), opts...)
	var se *gcs.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusBadRequest {
		t.Errorf("Download from an unknown bucket = %v, want a *StatusError", err)
	}
}

func TestParseURI(t *testing.T) {
	tests := []struct {
		uri, bucket, prefix string
		ok                  bool
	}{
		{"gs://b/path/to/model", "b", "path/to/model/", true},
		{"gs://b/path/", "b", "path/", true},
		{"gs://b", "b", "", true},
		{"gs://", "", "", false},
		{"s3://b/x", "", "", false},
	}
	for _, tc := range tests {
		b, p, err := gcs.ParseURI(tc.uri)
		if (err == nil) != tc.ok || b != tc.bucket || p != tc.prefix {
			t.Errorf("ParseURI(%q) = %q, %q, %v; want %q, %q, ok=%t", tc.uri, b, p, err, tc.bucket, tc.prefix, tc.ok)
		}
	}
}
