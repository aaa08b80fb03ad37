package publish

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// emptyJSON is the OCI empty descriptor's content, the config of artifacts.
var emptyJSON = []byte("{}")

// ErrNotReferrer reports an artifact given to WithReferrers that does not
// refer to the image being published.
var ErrNotReferrer = errors.New("artifact does not refer to the image")

// NewReferrer returns an OCI artifact of type artifactType that refers to
// subject (its manifest's subject field): an image manifest with the empty
// config (application/vnd.oci.empty.v1+json, "{}") and one layer holding
// content, with media type artifactType, titled title (the file name
// `oras pull` writes; may be empty). Registries and tools list it among
// the subject's referrers (the OCI 1.1 referrers API, or the sha256-<hex>
// tag where a registry has none). The manifest bytes depend only on the
// arguments.
func NewReferrer(subject v1.Image, artifactType types.MediaType, content []byte, title string) (v1.Image, error) {
	sub, err := partial.Descriptor(subject)
	if err != nil {
		return nil, fmt.Errorf("describing the subject: %w", err)
	}
	layer := static.NewLayer(content, artifactType)
	ld, err := partial.Descriptor(layer)
	if err != nil {
		return nil, err
	}
	if title != "" {
		ld.Annotations = map[string]string{"org.opencontainers.image.title": title}
	}
	cfg, cfgSize, err := v1.SHA256(bytes.NewReader(emptyJSON))
	if err != nil {
		return nil, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  string(artifactType),
		Config:        v1.Descriptor{MediaType: types.OCIEmptyJSON, Size: cfgSize, Digest: cfg, Data: emptyJSON},
		Layers:        []v1.Descriptor{*ld},
		Subject:       &v1.Descriptor{MediaType: sub.MediaType, Size: sub.Size, Digest: sub.Digest},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return partial.CompressedToImage(&artifact{manifest: raw, layer: layer, digest: ld.Digest})
}

// artifact is the partial.CompressedImageCore behind NewReferrer.
type artifact struct {
	manifest []byte
	layer    v1.Layer
	digest   v1.Hash
}

var _ partial.CompressedImageCore = (*artifact)(nil)

func (a *artifact) RawConfigFile() ([]byte, error)      { return emptyJSON, nil }
func (a *artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (a *artifact) RawManifest() ([]byte, error)        { return a.manifest, nil }

func (a *artifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h != a.digest {
		return nil, fmt.Errorf("artifact has no layer %s", h)
	}
	return a.layer, nil
}

// referrerDescriptor returns the descriptor of art, with its artifactType,
// after checking that it refers to the image with digest subject.
func referrerDescriptor(art v1.Image, subject v1.Hash) (v1.Descriptor, error) {
	m, err := art.Manifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	d, err := partial.Descriptor(art)
	if err != nil {
		return v1.Descriptor{}, err
	}
	if m.Subject == nil || m.Subject.Digest != subject {
		return v1.Descriptor{}, fmt.Errorf("%w %s: artifact %s", ErrNotReferrer, subject, d.Digest)
	}
	d.ArtifactType = m.ArtifactType
	if d.ArtifactType == "" {
		d.ArtifactType = string(m.Config.MediaType)
	}
	return *d, nil
}
