package builder

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/layer"
	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/builder/wheelinstall"
)

// ErrNoCache reports a Build without WithCache.
var ErrNoCache = errors.New("build needs a cache directory (WithCache)")

// Build writes the Plan's layers that the cache lacks, in parallel, and
// assembles the image on the Plan's base. Only the base's manifest and
// config are read; its layers are fetched later, and only by outputs that
// need them.
func Build(ctx context.Context, p *Plan, opts ...Option) (v1.Image, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	if o.cache == nil {
		return nil, ErrNoCache
	}
	// The base first: a wrong digest or missing credentials fail in
	// seconds, before any layer work.
	base := o.base
	if base == nil {
		if base, err = ResolveBase(ctx, p.Base, o.remote...); err != nil {
			return nil, err
		}
		if _, err := base.ConfigFile(); err != nil {
			return nil, fmt.Errorf("reading base %s config: %w", p.Base.Ref, err)
		}
	}
	layers, err := buildLayers(ctx, p, o)
	if err != nil {
		return nil, err
	}
	return Assemble(base, p, layers)
}

// builtLayer is a layer Build produced or found: a stored blob
// (*layer.Layer) or one regenerated from local files (*layer.TreeLayer).
type builtLayer interface {
	v1.Layer
	Descriptor() layer.Descriptor
}

// buildLayers returns the Plan's layers in order, from the cache or written.
func buildLayers(ctx context.Context, p *Plan, o *options) ([]v1.Layer, error) {
	out := make([]builtLayer, len(p.Layers))
	cached := make([]bool, len(p.Layers))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.jobs)
	// Largest first: the weights, read and pushed the longest, start at
	// once instead of after every other layer (and their upload with them).
	order := make([]int, len(p.Layers))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(p.Layers[b].Size, p.Layers[a].Size) })
	for _, i := range order {
		lp := p.Layers[i]
		g.Go(func() error {
			get := storedLayer
			if byReference(lp, o.storeAll) {
				get = referencedLayer
			}
			l, hit, err := get(gctx, p, lp, o)
			if err != nil {
				return fmt.Errorf("building layer %s: %w", lp.Name, err)
			}
			_, planned := p.planned.Load(lp.Key)
			out[i], cached[i] = l, hit && !planned
			if o.layerReady != nil {
				o.layerReady(l)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if o.report != nil {
		o.report.Layers = make([]LayerReport, len(out))
		for i, l := range out {
			d := l.Descriptor()
			o.report.Layers[i] = LayerReport{Name: p.Layers[i].Name, Digest: d.Digest, Size: d.Size, Cached: cached[i]}
		}
	}
	layers := make([]v1.Layer, len(out))
	for i, l := range out {
		layers[i] = l
	}
	return layers, nil
}

// byReference reports whether lp's blob is regenerated from its local files
// rather than stored: uncompressed layers of plain files (model weights),
// which would otherwise be copied byte for byte into the cache.
func byReference(lp LayerPlan, storeAll bool) bool {
	if storeAll || lp.Compression != layer.None || len(lp.Wheels) > 0 {
		return false
	}
	for _, f := range lp.Files {
		if f.Linkname == "" {
			return true
		}
	}
	return false
}

// storedLayer returns lp's blob from the cache, or writes it there.
func storedLayer(ctx context.Context, p *Plan, lp LayerPlan, o *options) (builtLayer, bool, error) {
	if l, ok, err := o.cache.Layer(lp.Key); err != nil || ok {
		return l, ok, err
	}
	// The wheels stay open, one file each, while the layer is written.
	var files wheelinstall.Files
	defer files.Close()
	t, err := layerTree(p, lp, o, &files)
	if err != nil {
		return nil, false, err
	}
	l, err := layer.Write(ctx, t, o.cache.BlobDir(), layerOptions(p, lp)...)
	if err != nil {
		return nil, false, err
	}
	return l, false, o.cache.PutLayer(lp.Key, l)
}

// referencedLayer returns lp as a layer regenerated from its files, with
// its descriptor from the cache or computed in one read of the files.
func referencedLayer(ctx context.Context, p *Plan, lp LayerPlan, o *options) (builtLayer, bool, error) {
	t, err := layerTree(p, lp, o, nil)
	if err != nil {
		return nil, false, err
	}
	d, hit, err := o.cache.Ref(lp.Key)
	if err != nil {
		return nil, false, err
	}
	if !hit {
		var paths []string
		for _, f := range lp.Files {
			if f.Linkname == "" {
				paths = append(paths, f.Source)
			}
		}
		src, err := cache.StatSources(paths)
		if err != nil {
			return nil, false, err
		}
		if d, err = layer.Describe(ctx, t, layerOptions(p, lp)...); err != nil {
			return nil, false, err
		}
		if err := o.cache.PutRef(lp.Key, d, src); err != nil {
			return nil, false, err
		}
	}
	l, err := layer.FromTree(t, d, layerOptions(p, lp)...)
	return l, hit, err
}

func layerOptions(p *Plan, lp LayerPlan) []layer.Option {
	return []layer.Option{layer.WithCompression(lp.Compression), layer.WithEpoch(p.SourceDateEpoch)}
}

// layerTree lays out a layer's files, or installs its wheels; the default
// installer keeps each wheel open in files, when not nil, for the reads.
func layerTree(p *Plan, lp LayerPlan, o *options, files *wheelinstall.Files) (*tree.Tree, error) {
	t := tree.New()
	switch {
	case !o.installerSet:
		if err := installWheels(t, lp.Wheels, p.Base, o.cache, files); err != nil {
			return nil, err
		}
	case len(lp.Wheels) > 0 && o.installer == nil:
		return nil, errors.New("the plan has wheels but no wheel installer is configured (WithWheelInstaller)")
	default:
		for _, w := range lp.Wheels {
			if err := o.installer(t, w, p.Base); err != nil {
				return nil, fmt.Errorf("installing %s: %w", w.Filename, err)
			}
		}
	}
	for _, f := range lp.Files {
		var err error
		if f.Linkname != "" {
			err = t.AddSymlink(f.Path, f.Linkname)
		} else {
			err = t.AddFile(f.Path, f.Mode, f.Size, openFile(f.Source))
		}
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}

func openFile(p string) tree.Opener {
	return func() (io.ReadCloser, error) { return os.Open(p) }
}
