package builder

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/builder/wheelinstall"
	"github.com/hfpack/hfpack/internal/fsio"
)

// ErrReplacesImageFile reports a wheel file that would replace a file of
// the base image or of another layer hfpack adds (the runtime, the
// worker, the sidecar): a wheel's script named python3 would replace the
// interpreter the worker runs.
var ErrReplacesImageFile = errors.New("wheel would replace a file of the image")

// CheckWheels installs the plan's wheels into a scratch tree with the
// installer both builders run, and refuses a wheel file that would replace
// another wheel's file or a file of the image (the base, whose file list
// is read once per layer and remembered in c, or another layer of the
// plan), naming both. base may be nil: it is then fetched. The warnings
// name the wheel members their RECORD does not list.
func CheckWheels(ctx context.Context, p *Plan, base v1.Image, c *cache.Cache) (warnings []string, err error) {
	var wheels []WheelRef
	for _, l := range p.Layers {
		wheels = append(wheels, l.Wheels...)
	}
	if len(wheels) == 0 {
		return nil, nil
	}
	if base == nil {
		if base, err = ResolveBase(ctx, p.Base); err != nil {
			return nil, err
		}
	}
	image, err := baseFiles(ctx, base, c)
	if err != nil {
		return nil, fmt.Errorf("listing the base image's files: %w", err)
	}
	owner := map[string]string{}
	for f := range image {
		owner[f] = "the base image " + p.Base.Ref
	}
	// The sidecar is in every image, whether or not the plan names its
	// binary yet (the preflight checks the wheels before it is found).
	owner[strings.TrimPrefix(SidecarImagePath, "/")] = "hfpack's sidecar layer"
	for _, l := range p.Layers {
		for _, f := range l.Files {
			owner[strings.TrimPrefix(f.Path, "/")] = "hfpack's " + l.Name + " layer"
		}
	}
	t := tree.New()
	// Read on all cores at once, added in the lock's order: the first
	// refusal is the one installing them in turn meets. With the cache,
	// the build's install need not hash a wheel again.
	prepared, errs := prepareWheels(wheels, SchemeFor(p.Base), func(w WheelRef) []wheelinstall.Option { return wheelOptions(w, c, nil) })
	for i, w := range wheels {
		if errs[i] != nil {
			return warnings, errs[i]
		}
		res, err := prepared[i].Commit(t)
		if err != nil {
			return warnings, err
		}
		for _, f := range res.Files {
			if o, ok := owner[f.Path]; ok {
				return warnings, fmt.Errorf("wheel %s: %w: it installs /%s, which %s already has; hfpack never replaces it (drop the package from [python] requirements, or choose a base without that file)", w.Filename, ErrReplacesImageFile, f.Path, o)
			}
		}
		if len(res.Unrecorded) > 0 {
			warnings = append(warnings, fmt.Sprintf("wheel %s: %d member(s) missing from its RECORD, installed as pip installs them: %s",
				w.Filename, len(res.Unrecorded), strings.Join(res.Unrecorded, ", ")))
		}
	}
	return warnings, nil
}

// Kinds of base entries remembered per layer.
const (
	kindFile     = 'f'
	kindDir      = 'd'
	kindWhiteout = 'w' // removes the path and what is under it
	kindOpaque   = 'o' // removes what is under the directory
)

// layerEntry is one path of a base layer.
type layerEntry struct {
	Path string `json:"p"`
	Kind byte   `json:"k"`
}

// baseFiles returns the paths of base's files (regular files, symbolic
// and hard links, devices: anything but a directory) after its layers are
// stacked, whiteouts applied. Each layer's list is read from its tar once
// and remembered in c by the layer's digest.
func baseFiles(ctx context.Context, base v1.Image, c *cache.Cache) (map[string]byte, error) {
	layers, err := base.Layers()
	if err != nil {
		return nil, err
	}
	out := map[string]byte{}
	for _, l := range layers {
		entries, err := layerEntries(ctx, l, c)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			switch e.Kind {
			case kindWhiteout, kindOpaque:
				prefix := e.Path + "/"
				for p := range out {
					if strings.HasPrefix(p, prefix) || e.Kind == kindWhiteout && p == e.Path {
						delete(out, p)
					}
				}
			default:
				out[e.Path] = e.Kind
			}
		}
	}
	for p, k := range out {
		if k == kindDir {
			delete(out, p)
		}
	}
	return out, nil
}

func layerEntries(ctx context.Context, l v1.Layer, c *cache.Cache) ([]layerEntry, error) {
	d, err := l.Digest()
	if err != nil {
		return nil, err
	}
	var memo string
	if c != nil && d.Algorithm == "sha256" && len(d.Hex) == 64 {
		memo = filepath.Join(c.Dir(), "basefiles", d.Hex+".json")
		if b, err := os.ReadFile(memo); err == nil {
			var es []layerEntry
			if json.Unmarshal(b, &es) == nil {
				fsio.MarkUsed(memo) // the last use, for cache.Entries
				return es, nil
			}
		}
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var es []layerEntry
	tr := tar.NewReader(rc)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", d, err)
		}
		p, err := tree.CleanPath(strings.TrimPrefix(h.Name, "./"))
		if err != nil || p == "" || p == "." {
			continue
		}
		dir, base := path.Split(p)
		switch {
		case base == ".wh..wh..opq":
			es = append(es, layerEntry{strings.TrimSuffix(dir, "/"), kindOpaque})
		case strings.HasPrefix(base, ".wh."):
			es = append(es, layerEntry{dir + strings.TrimPrefix(base, ".wh."), kindWhiteout})
		case h.Typeflag == tar.TypeDir:
			es = append(es, layerEntry{p, kindDir})
		default:
			es = append(es, layerEntry{p, kindFile})
		}
	}
	if memo != "" {
		if b, err := json.Marshal(es); err == nil {
			writeMemo(memo, b)
		}
	}
	return es, nil
}

// writeMemo records b at path; a failure only costs reading the layer
// again next time.
func writeMemo(path string, b []byte) {
	if os.MkdirAll(filepath.Dir(path), 0o755) == nil {
		_ = fsio.WriteFile(path, b, 0o644)
	}
}
