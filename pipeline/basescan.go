package pipeline

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"

	"github.com/hfpack/hfpack/baseimages"
	"github.com/hfpack/hfpack/internal/fsio"
)

// detectBase reads what an [image] base's own files say about its Python
// and glibc: each layer's tar headers (and /etc/os-release), read once and
// cached under the cache root by layer digest, so later runs read nothing.
// The first read of a registry base downloads its layers: BaseProgress
// reports it.
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
	facts := make([]baseimages.LayerFacts, len(layers))
	var todo []int
	var total int64
	for i, l := range layers {
		f, ok, err := cachedFacts(dir, l)
		if err != nil {
			return nil, err
		}
		if ok {
			facts[i] = f
			continue
		}
		size, err := l.Size()
		if err != nil {
			return nil, fmt.Errorf("reading the base's layers: %w", err)
		}
		todo, total = append(todo, i), total+size
	}
	var bar Progress
	if len(todo) > 0 && p.BaseProgress != nil {
		bar = p.BaseProgress(total)
	}
	for _, i := range todo {
		l := layers[i]
		if bar != nil {
			cl, err := partial.CompressedToLayer(countedLayer{l, bar})
			if err != nil {
				return nil, err
			}
			l = cl
		}
		f, err := scanLayer(dir, l)
		if err != nil {
			if bar != nil {
				bar.Fail()
			}
			return nil, err
		}
		facts[i] = f
	}
	if bar != nil {
		bar.Done()
	}
	d := baseimages.DetectBase(facts)
	return &d, nil
}

// Progress reports a long read: Add counts bytes done; Done or Fail ends
// it.
type Progress interface {
	Add(n int64)
	Done()
	Fail()
}

// countedLayer counts the compressed bytes read from a layer.
type countedLayer struct {
	v1.Layer
	bar Progress
}

func (l countedLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	return countedReader{rc, l.bar}, nil
}

type countedReader struct {
	io.ReadCloser
	bar Progress
}

func (r countedReader) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	r.bar.Add(int64(n))
	return n, err
}

// cachedFacts reads a layer's facts from the cache; ok is false when they
// are not there yet.
func cachedFacts(dir string, l v1.Layer) (f baseimages.LayerFacts, ok bool, err error) {
	d, err := l.Digest()
	if err != nil {
		return f, false, err
	}
	b, err := os.ReadFile(factsPath(dir, d))
	if err == nil && json.Unmarshal(b, &f) == nil {
		return f, true, nil
	}
	return f, false, nil
}

func factsPath(dir string, d v1.Hash) string {
	return filepath.Join(dir, strings.ReplaceAll(d.String(), ":", "-")+".json")
}

// scanLayer scans one layer and caches its facts by digest.
func scanLayer(dir string, l v1.Layer) (baseimages.LayerFacts, error) {
	var f baseimages.LayerFacts
	d, err := l.Digest()
	if err != nil {
		return f, err
	}
	cached := factsPath(dir, d)
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
