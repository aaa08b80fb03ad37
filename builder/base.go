package builder

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/google"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hfpack/hfpack/imagespec"
)

// OCILayoutPrefix marks a base read from a local OCI image layout.
const OCILayoutPrefix = imagespec.LayoutPrefix

var amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}

// ResolveBase returns the base image b pins: from the OCI layout at PATH for
// "oci-layout:PATH", else from the registry by digest, choosing linux/amd64
// from an index. Registry auth comes from the docker config, credential
// helpers and Google's keychain unless ro sets it.
func ResolveBase(ctx context.Context, b Base, ro ...remote.Option) (v1.Image, error) {
	h, err := v1.NewHash(b.Digest)
	if err != nil {
		return nil, fmt.Errorf("base %s: digest %q: %w", b.Ref, b.Digest, err)
	}
	if lr, ok := imagespec.ParseLayoutRef(b.Ref); ok {
		if b.Layout != "" {
			lr.Dir = b.Layout // the same directory, made absolute by the pipeline
		}
		return LayoutImage(lr.Dir, h.String())
	}
	ref, err := name.ParseReference(b.Ref)
	if err != nil {
		return nil, fmt.Errorf("parsing base reference %q: %w", b.Ref, err)
	}
	if b.Pull != "" {
		if ref, err = name.ParseReference(b.Pull); err != nil {
			return nil, fmt.Errorf("parsing the base's mirror %q: %w", b.Pull, err)
		}
	}
	opts := append([]remote.Option{
		remote.WithContext(ctx),
		remote.WithPlatform(amd64),
		remote.WithAuthFromKeychain(authn.NewMultiKeychain(authn.DefaultKeychain, google.Keychain)),
	}, ro...)
	img, err := remote.Image(ref.Context().Digest(h.String()), opts...)
	if err != nil {
		return nil, fmt.Errorf("fetching base %s@%s: %w", b.Ref, h, err)
	}
	return img, nil
}

// LayoutImage reads the image with the given digest from the OCI layout at
// dir, choosing linux/amd64 when the digest names an index. An empty digest
// means the layout's only image (artifacts such as SBOMs aside).
func LayoutImage(dir, digest string) (v1.Image, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("reading base layout %s: %w", dir, err)
	}
	ii, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading base layout %s: %w", dir, err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading base layout %s: %w", dir, err)
	}
	var found []v1.Descriptor
	for _, d := range im.Manifests {
		if (digest == "" && !isArtifact(d)) || d.Digest.String() == digest {
			found = append(found, d)
		}
	}
	switch {
	case len(found) == 0 && digest != "":
		return nil, fmt.Errorf("base layout %s has no image %s", dir, digest)
	case len(found) != 1:
		return nil, fmt.Errorf("base layout %s holds %d images: name one with oci-layout:PATH@sha256:...", dir, len(found))
	}
	if found[0].MediaType.IsIndex() {
		child, err := ii.ImageIndex(found[0].Digest)
		if err != nil {
			return nil, err
		}
		return pickPlatform(child)
	}
	return ii.Image(found[0].Digest)
}

// isArtifact tells an artifact (an SBOM, a signature) from an image in a
// layout's index: go-containerregistry records an image's config media type
// as its artifactType, an artifact its own type.
func isArtifact(d v1.Descriptor) bool {
	switch types.MediaType(d.ArtifactType) {
	case "", types.OCIConfigJSON, types.DockerConfigJSON:
		return false
	}
	return true
}

func pickPlatform(ii v1.ImageIndex) (v1.Image, error) {
	im, err := ii.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.Satisfies(amd64) {
			return ii.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("base index has no %s/%s image", amd64.OS, amd64.Architecture)
}
