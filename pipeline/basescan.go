package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hfpack/hfpack/baseimages"
	"github.com/hfpack/hfpack/internal/fsio"
)

// detectBase reads what an [image] base's own files say about its Python
// and glibc: each layer's tar headers (and /etc/os-release), read once and
// cached under the cache root by layer digest, so later runs read nothing.
func (p *Project) detectBase(img v1.Image) (*baseimages.Detected, error) {
	root, err := CacheRoot(p.CacheDir)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, "basescan")
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading the base's layers: %w", err)
	}
	facts := make([]baseimages.LayerFacts, 0, len(layers))
	for _, l := range layers {
		f, err := layerFacts(dir, l)
		if err != nil {
			return nil, err
		}
		facts = append(facts, f)
	}
	d := baseimages.DetectBase(facts)
	return &d, nil
}

// layerFacts scans one layer, or reads its facts from the cache.
func layerFacts(dir string, l v1.Layer) (baseimages.LayerFacts, error) {
	var f baseimages.LayerFacts
	d, err := l.Digest()
	if err != nil {
		return f, err
	}
	cached := filepath.Join(dir, strings.ReplaceAll(d.String(), ":", "-")+".json")
	if b, err := os.ReadFile(cached); err == nil && json.Unmarshal(b, &f) == nil {
		return f, nil
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return f, fmt.Errorf("reading base layer %s: %w", d, err)
	}
	defer rc.Close()
	if f, err = baseimages.ScanLayer(rc); err != nil {
		return f, fmt.Errorf("base layer %s: %w", d, err)
	}
	b, err := json.Marshal(f)
	if err != nil {
		return f, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return f, err
	}
	return f, fsio.WriteFile(cached, b, 0o644)
}
