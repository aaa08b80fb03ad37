package llb

import (
	"context"
	"fmt"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/client"

	"github.com/hfpack/hfpack/builder"
)

// Backend is the builder.Backend that solves a Plan on a BuildKit daemon.
// The daemon exports each image into a Store on this machine, which
// receives only the blobs it lacks (a no-op rebuild transfers a manifest
// and a config), and Build reads the image back from there: publishing it
// is the caller's, as with the embedded builder.
type Backend struct {
	addr  string
	store *Store
	opts  []SolveOption
}

var _ builder.Backend = (*Backend)(nil)

// NewBackend returns the Backend that solves on the daemon at addr (see
// Solve) and exports into store; opts are Solve's (WithProgress,
// WithBaseImage, WithInstaller, WithDaemonPush...), and must not add
// exports.
func NewBackend(addr string, store *Store, opts ...SolveOption) *Backend {
	return &Backend{addr: addr, store: store, opts: slices.Clip(opts)}
}

// Build solves p and returns its image, read from the store (or, with
// WithDaemonPush, from the registry the daemon pushed it to). BuildKit does
// not say which layers came from its cache: the result has no Layers.
func (b *Backend) Build(ctx context.Context, p *builder.Plan) (*builder.Result, error) {
	var o solveOptions
	for _, opt := range b.opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	opts := b.opts
	if o.push == nil {
		opts = append(opts, WithStore(b.store))
	}
	res, err := Solve(ctx, b.addr, p, opts...)
	if err != nil {
		return nil, err
	}
	d, err := v1.NewHash(res.Digest)
	if err != nil {
		return nil, fmt.Errorf("buildkit: image digest %q: %w", res.Digest, err)
	}
	if o.push != nil {
		img, err := pushedImage(ctx, *o.push, d, o.remote...)
		if err != nil {
			return nil, err
		}
		return &builder.Result{Image: img}, nil
	}
	img, err := b.store.Image(d)
	if err != nil {
		return nil, err
	}
	return &builder.Result{Image: img}, nil
}

// WithStore exports the image into s (an OCI exporter writing into a
// content store): the daemon sends only the blobs s does not have. A solve
// takes one store or layout export (WithOCILayout), not both.
func WithStore(s *Store) SolveOption {
	return func(o *solveOptions) error {
		o.exports = append(o.exports, client.ExportEntry{Type: client.ExporterOCI, Attrs: map[string]string{"tar": "false"}, OutputStore: s})
		return nil
	}
}
