package layer

import (
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Layer is a v1.Layer served from a blob file whose digest, diffID and size
// are already known: nothing is compressed or hashed again when it is read.
type Layer struct {
	path string
	desc Descriptor
}

var _ v1.Layer = (*Layer)(nil)

// Open returns the layer stored at path with descriptor d. It checks that
// the file exists with d's size; it does not rehash it.
func Open(path string, d Descriptor) (*Layer, error) {
	if _, err := d.Compression.MediaType(); err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() != d.Size {
		return nil, fmt.Errorf("opening layer %s: size %d, want %d", path, fi.Size(), d.Size)
	}
	return &Layer{path: path, desc: d}, nil
}

// Path returns the blob file's path.
func (l *Layer) Path() string { return l.path }

// Descriptor returns the layer's digests, size and compression.
func (l *Layer) Descriptor() Descriptor { return l.desc }

// Digest returns the sha256 of the compressed blob.
func (l *Layer) Digest() (v1.Hash, error) { return l.desc.Digest, nil }

// DiffID returns the sha256 of the uncompressed tar.
func (l *Layer) DiffID() (v1.Hash, error) { return l.desc.DiffID, nil }

// Size returns the compressed blob's length.
func (l *Layer) Size() (int64, error) { return l.desc.Size, nil }

// MediaType returns the OCI media type matching the layer's compression.
func (l *Layer) MediaType() (types.MediaType, error) { return l.desc.Compression.MediaType() }

// Compressed opens the blob file.
func (l *Layer) Compressed() (io.ReadCloser, error) { return os.Open(l.path) }

// Uncompressed opens the blob file through its decompressor.
func (l *Layer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	return l.desc.Compression.decompressor(f)
}
