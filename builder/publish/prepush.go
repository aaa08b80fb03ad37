package publish

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// Prepush uploads an image's layers to a registry target while the rest of
// the image is still being built: a layer is pushed as soon as it is
// written, beside the writing of the next, instead of all of them after the
// last. Publish of the finished image then finds those blobs in the
// repository and sends only what is left (the manifest, the config, the
// referrers, the tag). A layer pushed for a build that then fails is a blob
// no manifest names, which registries collect.
type Prepush struct {
	cancel context.CancelFunc
	repo   name.Repository
	ro     []remote.Option
	g      errgroup.Group
	mu     sync.Mutex
	seen   map[v1.Hash]bool
}

// NewPrepush returns a Prepush to the repository of t, a Registry target,
// with Publish's options (credentials, transport, retries; WithJobs bounds
// the uploads at once).
func NewPrepush(ctx context.Context, t Target, opts ...Option) (*Prepush, error) {
	if t.Kind != Registry {
		return nil, fmt.Errorf("%w: layers are pushed early only to a registry, not to %s", ErrBadTarget, t)
	}
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	r, err := name.ParseReference(t.Ref)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadTarget, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Prepush{cancel: cancel, repo: r.Context(), ro: o.remote(ctx), seen: map[v1.Hash]bool{}}
	p.g.SetLimit(o.jobs)
	return p, nil
}

// Add starts pushing l, unless a layer of the same digest was added
// before. It returns at once, as long as fewer than WithJobs uploads run.
func (p *Prepush) Add(l v1.Layer) {
	d, err := l.Digest()
	if err != nil {
		return // Publish reports it
	}
	p.mu.Lock()
	dup := p.seen[d]
	p.seen[d] = true
	p.mu.Unlock()
	if dup {
		return
	}
	p.g.Go(func() error {
		if err := remote.WriteLayer(p.repo, l, p.ro...); err != nil {
			return redactErr(fmt.Errorf("pushing layer %s: %w", d, authError(p.repo.RegistryStr(), err)))
		}
		return nil
	})
}

// Wait waits for the uploads started and returns the first error.
func (p *Prepush) Wait() error {
	defer p.cancel()
	return p.g.Wait()
}

// Cancel stops the uploads (the build failed) and waits for them to end.
func (p *Prepush) Cancel() {
	p.cancel()
	p.g.Wait()
}
