package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/baseimages"
)

// [image] catalog is read when the manifest loads: a missing or broken
// file is a manifest error with its line and key.
func TestLoadManifestChecksCatalog(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "model"), 0o755)
	path := filepath.Join(dir, "hfpack.toml")
	os.WriteFile(path, []byte("name = \"x\"\n\n[model]\ntask = \"text-classification\"\n\n[image]\ncatalog = \"corp.json\"\n"), 0o644)
	_, err := LoadManifest(path)
	if err == nil || !strings.Contains(err.Error(), "image.catalog") || !strings.Contains(err.Error(), "reading catalog file") {
		t.Fatalf("missing catalog: err = %v", err)
	}
	os.WriteFile(filepath.Join(dir, "corp.json"), []byte(`{"images": [{"repository": "r.example/cuda", "tag": "x", "digest": "latest"}]}`), 0o644)
	if _, err := LoadManifest(path); err == nil || !strings.Contains(err.Error(), "images are pinned by digest") {
		t.Fatalf("broken catalog: err = %v", err)
	}
	os.WriteFile(filepath.Join(dir, "corp.json"), []byte(`{"runtimes": []}`), 0o644)
	if _, err := LoadManifest(path); err != nil {
		t.Fatal(err)
	}
}

// [serving] workers and [accelerator] count reach the sidecar's config in
// the image: the sidecar splits the GPUs among the workers.
func TestSidecarConfigCarriesWorkers(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "model"), 0o755)
	for _, tc := range []struct {
		toml           string
		workers, count int
	}{
		{"[accelerator]\ntype = \"NVIDIA_L4\"\ncount = 4\n", 4, 4},
		{"[accelerator]\ntype = \"NVIDIA_L4\"\ncount = 4\n[serving]\nworkers = 1\n", 1, 4},
		{"[serving]\nworkers = 2\n", 2, 0},
	} {
		path := filepath.Join(dir, "hfpack.toml")
		os.WriteFile(path, []byte("name = \"x\"\n\n[model]\ntask = \"text-classification\"\n"+tc.toml), 0o644)
		m, err := LoadManifest(path)
		if err != nil {
			t.Fatal(err)
		}
		c := (&Project{Manifest: m}).SidecarConfig(baseimages.Selection{}, "")
		if c.Workers != tc.workers || c.GPUs != tc.count {
			t.Errorf("%q: sidecar config workers=%d gpus=%d, want %d and %d", tc.toml, c.Workers, c.GPUs, tc.workers, tc.count)
		}
	}
}
