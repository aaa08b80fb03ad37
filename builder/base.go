package builder

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/google"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// OCILayoutPrefix marks a base read from a local OCI image layout.
const OCILayoutPrefix = "oci-layout:"

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
	if dir, ok := strings.CutPrefix(b.Ref, OCILayoutPrefix); ok {
		return layoutImage(dir, h)
	}
	ref, err := name.ParseReference(b.Ref)
	if err != nil {
		return nil, fmt.Errorf("parsing base reference %q: %w", b.Ref, err)
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

// layoutImage reads the image or index with digest h from an OCI layout.
func layoutImage(dir string, h v1.Hash) (v1.Image, error) {
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
	for _, d := range im.Manifests {
		if d.Digest != h {
			continue
		}
		if d.MediaType.IsIndex() {
			child, err := ii.ImageIndex(h)
			if err != nil {
				return nil, err
			}
			return pickPlatform(child)
		}
		return ii.Image(h)
	}
	return nil, fmt.Errorf("base layout %s has no image %s", dir, h)
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
