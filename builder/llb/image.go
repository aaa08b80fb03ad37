package llb

import (
	"bytes"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"
)

// Image returns the image whose manifest is the blob d. The manifest and
// the config are read now and checked against their digests; each layer's
// blob must be there with the size the manifest gives (its bytes were
// checked against its digest when the store received them), and is read
// only when used. Layers are served from their files: publish links them
// into an OCI layout on the same file system (Path) instead of copying.
func (s *Store) Image(d v1.Hash) (v1.Image, error) {
	raw, err := s.verified(d)
	if err != nil {
		return nil, fmt.Errorf("reading the image BuildKit exported: manifest: %w", err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("reading the image BuildKit exported: manifest %s: %w", d, err)
	}
	rawCfg, err := s.verified(m.Config.Digest)
	if err != nil {
		return nil, fmt.Errorf("reading the image BuildKit exported: config: %w", err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(rawCfg))
	if err != nil {
		return nil, fmt.Errorf("reading the image BuildKit exported: config %s: %w", m.Config.Digest, err)
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("reading the image BuildKit exported: %d layers but %d diffIDs", len(m.Layers), len(cf.RootFS.DiffIDs))
	}
	img := &storeImage{digest: d, raw: raw, manifest: m, rawConfig: rawCfg, config: cf}
	for i, desc := range m.Layers {
		l, err := s.layer(desc, cf.RootFS.DiffIDs[i])
		if err != nil {
			return nil, fmt.Errorf("reading the image BuildKit exported: layer %d: %w", i+1, err)
		}
		img.layers = append(img.layers, l)
	}
	s.used(d)
	return img, nil
}

// verified reads the blob d and checks its digest.
func (s *Store) verified(d v1.Hash) ([]byte, error) {
	p, err := s.BlobPath(digest.Digest(d.String()))
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	got, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if got != d {
		return nil, fmt.Errorf("blob %s in %s has digest %s: the store is damaged; remove %s", d, s.dir, got, p)
	}
	return b, nil
}

func (s *Store) layer(desc v1.Descriptor, diffID v1.Hash) (*storeLayer, error) {
	p, err := s.BlobPath(digest.Digest(desc.Digest.String()))
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.Size() != desc.Size {
		return nil, fmt.Errorf("blob %s in %s has %d bytes, want %d: the store is damaged; remove %s", desc.Digest, s.dir, fi.Size(), desc.Size, p)
	}
	blob := &storeBlob{path: p, desc: desc, diffID: diffID}
	l, err := partial.CompressedToLayer(blob)
	if err != nil {
		return nil, err
	}
	return &storeLayer{Layer: l, path: p, digest: desc.Digest, diffID: diffID}, nil
}

// storeImage is an image read from a Store.
type storeImage struct {
	digest    v1.Hash
	raw       []byte
	manifest  *v1.Manifest
	rawConfig []byte
	config    *v1.ConfigFile
	layers    []*storeLayer
}

var _ v1.Image = (*storeImage)(nil)

func (i *storeImage) Layers() ([]v1.Layer, error) {
	out := make([]v1.Layer, len(i.layers))
	for k, l := range i.layers {
		out[k] = l
	}
	return out, nil
}

func (i *storeImage) MediaType() (types.MediaType, error) {
	if i.manifest.MediaType != "" {
		return i.manifest.MediaType, nil
	}
	return types.OCIManifestSchema1, nil
}

func (i *storeImage) Size() (int64, error)                { return int64(len(i.raw)), nil }
func (i *storeImage) ConfigName() (v1.Hash, error)        { return i.manifest.Config.Digest, nil }
func (i *storeImage) ConfigFile() (*v1.ConfigFile, error) { return i.config.DeepCopy(), nil }
func (i *storeImage) RawConfigFile() ([]byte, error)      { return bytes.Clone(i.rawConfig), nil }
func (i *storeImage) Digest() (v1.Hash, error)            { return i.digest, nil }
func (i *storeImage) Manifest() (*v1.Manifest, error)     { return i.manifest.DeepCopy(), nil }
func (i *storeImage) RawManifest() ([]byte, error)        { return bytes.Clone(i.raw), nil }

func (i *storeImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	for _, l := range i.layers {
		if l.digest == h {
			return l, nil
		}
	}
	return nil, fmt.Errorf("image %s has no layer %s", i.digest, h)
}

func (i *storeImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	for _, l := range i.layers {
		if l.diffID == h {
			return l, nil
		}
	}
	return nil, fmt.Errorf("image %s has no layer with diffID %s", i.digest, h)
}

// storeLayer is a layer whose compressed blob is a file of the Store.
type storeLayer struct {
	v1.Layer
	path           string
	digest, diffID v1.Hash
}

// Path returns the blob's file.
func (l *storeLayer) Path() string { return l.path }

// storeBlob is a compressed blob in a Store, with its diffID from the
// image config.
type storeBlob struct {
	path   string
	desc   v1.Descriptor
	diffID v1.Hash
}

func (b *storeBlob) Digest() (v1.Hash, error)            { return b.desc.Digest, nil }
func (b *storeBlob) DiffID() (v1.Hash, error)            { return b.diffID, nil }
func (b *storeBlob) Size() (int64, error)                { return b.desc.Size, nil }
func (b *storeBlob) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }
func (b *storeBlob) Compressed() (io.ReadCloser, error)  { return os.Open(b.path) }
