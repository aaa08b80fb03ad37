package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
