package builder

import (
	"context"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Backend builds the image a Plan describes. The embedded assembler
// (Embedded) and BuildKit (package builder/llb) implement it; writing the
// image somewhere (an OCI layout, a docker archive, a registry) is a
// separate step, the same for every backend (package builder/publish).
type Backend interface {
	// Build returns the image of p: p's base with one layer per Plan
	// layer, oldest first, and p's config.
	Build(ctx context.Context, p *Plan) (*Result, error)
}

// Result is an image a Backend built.
type Result struct {
	Image v1.Image
	// Layers says what the backend did for each Plan layer, in order; nil
	// when the backend cannot tell (BuildKit keeps its cache to itself).
	Layers []LayerReport
}

// Embedded returns the Backend that builds in this process, without a
// daemon: Build with opts (WithCache is required).
func Embedded(opts ...Option) Backend { return embedded(slices.Clip(opts)) }

type embedded []Option

var _ Backend = embedded(nil)

func (e embedded) Build(ctx context.Context, p *Plan) (*Result, error) {
	var r Report
	img, err := Build(ctx, p, append(e, WithReport(&r))...)
	if err != nil {
		return nil, err
	}
	return &Result{Image: img, Layers: r.Layers}, nil
}
