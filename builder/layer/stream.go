package layer

import (
	"context"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hfpack/hfpack/builder/tree"
)

// ErrDigestMismatch reports a regenerated layer whose bytes no longer match
// its recorded digest: an input changed after the layer was described.
var ErrDigestMismatch = errors.New("layer contents changed since it was built")

// Describe computes the descriptor of the layer t would make, reading every
// file once and writing nothing.
func Describe(ctx context.Context, t *tree.Tree, opts ...Option) (Descriptor, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return Descriptor{}, err
	}
	return writeTo(ctx, t, io.Discard, o)
}

// TreeLayer is a v1.Layer regenerated from its tree each time it is read,
// so that its blob is never stored. It suits uncompressed layers of large
// local files (model weights): the cache keeps only the descriptor.
// Every read is checked against the recorded digest: a reader returns
// ErrDigestMismatch at the end if the inputs changed.
type TreeLayer struct {
	tree *tree.Tree
	desc Descriptor
	opts []Option
}

var _ v1.Layer = (*TreeLayer)(nil)

// FromTree returns the layer t makes with opts, whose descriptor d was
// computed by Describe or Write with the same options.
func FromTree(t *tree.Tree, d Descriptor, opts ...Option) (*TreeLayer, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	if o.compression != d.Compression {
		return nil, fmt.Errorf("layer from tree: compression %s, descriptor says %s", o.compression, d.Compression)
	}
	return &TreeLayer{tree: t, desc: d, opts: opts}, nil
}

// Descriptor returns the layer's digests, size and compression.
func (l *TreeLayer) Descriptor() Descriptor { return l.desc }

// Digest returns the recorded sha256 of the blob.
func (l *TreeLayer) Digest() (v1.Hash, error) { return l.desc.Digest, nil }

// DiffID returns the recorded sha256 of the tar.
func (l *TreeLayer) DiffID() (v1.Hash, error) { return l.desc.DiffID, nil }

// Size returns the recorded blob length.
func (l *TreeLayer) Size() (int64, error) { return l.desc.Size, nil }

// MediaType returns the OCI media type of the layer's compression.
func (l *TreeLayer) MediaType() (types.MediaType, error) { return l.desc.Compression.MediaType() }

// Compressed streams the blob, regenerating it from the tree. The stream
// ends with ErrDigestMismatch instead of EOF if the bytes differ from the
// descriptor.
func (l *TreeLayer) Compressed() (io.ReadCloser, error) {
	o, err := makeOptions(l.opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	go func() {
		d, err := writeTo(ctx, l.tree, pw, o)
		if err == nil && d != l.desc {
			err = fmt.Errorf("%w: digest %s (%d bytes), want %s (%d bytes)", ErrDigestMismatch, d.Digest, d.Size, l.desc.Digest, l.desc.Size)
		}
		pw.CloseWithError(err)
	}()
	return readCloser{pr, func() error { cancel(); return pr.Close() }}, nil
}

// ChecksCompressed reports that Compressed checks what it streams against
// the descriptor (see there): a consumer need not hash it again.
func (l *TreeLayer) ChecksCompressed() bool { return true }

// Uncompressed streams the tar.
func (l *TreeLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	return l.desc.Compression.decompressor(rc)
}
