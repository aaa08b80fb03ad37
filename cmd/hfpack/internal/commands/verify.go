package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/google"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ErrNotReproduced reports a rebuild whose digest differs from the one it was verified against.
var ErrNotReproduced = errors.New("verification failed")

// verifyTarget is what --verify names: a digest, and where the published image with that digest
// can be read to find which layers differ ("" for a bare digest).
type verifyTarget struct {
	digest v1.Hash
	ref    string // REPO@sha256:... in a registry
	layout string // an OCI layout directory
}

// parseVerify parses --verify: sha256:..., REPO@sha256:... (what --digest-file writes) or
// oci:DIR@sha256:....
func parseVerify(s string) (verifyTarget, error) {
	var vt verifyTarget
	loc, digest := "", s
	if i := strings.LastIndex(s, "@"); i >= 0 {
		loc, digest = s[:i], s[i+1:]
	}
	h, err := v1.NewHash(digest)
	if err != nil {
		return vt, usageError{fmt.Errorf("--verify %q: want sha256:..., REPO@sha256:... or oci:DIR@sha256:...: %w", s, err)}
	}
	vt.digest = h
	switch {
	case loc == "":
	case strings.HasPrefix(loc, "oci:"):
		vt.layout = strings.TrimPrefix(loc, "oci:")
	default:
		if _, err := name.NewDigest(s); err != nil {
			return vt, usageError{fmt.Errorf("--verify %q: %w", s, err)}
		}
		vt.ref = s
	}
	return vt, nil
}

// verifyDigest passes when the rebuilt image has the digest --verify names. Otherwise, when
// --verify also says where the published image is, the error names the layers that differ.
func verifyDigest(ctx context.Context, g *globals, want string, img v1.Image, res *BuildResult) error {
	vt, err := parseVerify(want)
	if err != nil {
		return err
	}
	got, err := img.Digest()
	if err != nil {
		return err
	}
	if got == vt.digest {
		g.ui.Infof("verified: the rebuild has digest %s", got)
		return g.ui.Result(res, func(w io.Writer) error { _, err := fmt.Fprintln(w, got); return err })
	}
	msg := fmt.Sprintf("%v: the rebuild has digest %s, not %s", ErrNotReproduced, got, vt.digest)
	ref, err := vt.open(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("%s; reading the published image to compare layers: %w", msg, err)
	case ref == nil:
		return fmt.Errorf("%s (pass --verify REPO@%s or oci:DIR@%s to name the differing layers)", msg, vt.digest, vt.digest)
	}
	diff, err := diffImages(img, ref)
	if err != nil {
		return fmt.Errorf("%s; comparing layers: %w", msg, err)
	}
	return fmt.Errorf("%s: %s", msg, diff)
}

// open reads the published image, nil when --verify gave only a digest.
func (vt verifyTarget) open(ctx context.Context) (v1.Image, error) {
	switch {
	case vt.layout != "":
		lp, err := layout.FromPath(vt.layout)
		if err != nil {
			return nil, err
		}
		return lp.Image(vt.digest)
	case vt.ref != "":
		d, err := name.NewDigest(vt.ref)
		if err != nil {
			return nil, err
		}
		kc := authn.NewMultiKeychain(authn.DefaultKeychain, google.Keychain)
		return remote.Image(d, remote.WithContext(ctx), remote.WithAuthFromKeychain(kc))
	}
	return nil, nil
}

// namedLayer is a layer with the name its history entry gives it ("hfpack: app").
type namedLayer struct {
	name   string
	digest v1.Hash
}

// layersOf lists img's layers in order, named by their non-empty history entries.
func layersOf(img v1.Image) ([]namedLayer, error) {
	ls, err := img.Layers()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, h := range cf.History {
		if !h.EmptyLayer {
			names = append(names, strings.TrimPrefix(h.CreatedBy, "hfpack: "))
		}
	}
	out := make([]namedLayer, len(ls))
	for i, l := range ls {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		out[i] = namedLayer{name: fmt.Sprintf("#%d", i+1), digest: d}
		if i < len(names) && names[i] != "" {
			out[i].name = names[i]
		}
	}
	return out, nil
}

// diffImages describes how rebuilt differs from published: the layers that differ, in order, or
// the config when every layer matches.
func diffImages(rebuilt, published v1.Image) (string, error) {
	a, err := layersOf(rebuilt)
	if err != nil {
		return "", err
	}
	b, err := layersOf(published)
	if err != nil {
		return "", err
	}
	var diffs []string
	for i := range max(len(a), len(b)) {
		switch {
		case i >= len(a):
			diffs = append(diffs, fmt.Sprintf("layer %d %q is only in the published image", i+1, b[i].name))
		case i >= len(b):
			diffs = append(diffs, fmt.Sprintf("layer %d %q is only in the rebuild", i+1, a[i].name))
		case a[i].name != b[i].name:
			diffs = append(diffs, fmt.Sprintf("layer %d is %q in the rebuild, %q in the published image", i+1, a[i].name, b[i].name))
		case a[i].digest != b[i].digest:
			diffs = append(diffs, fmt.Sprintf("layer %d %q differs (rebuilt %s, published %s)", i+1, a[i].name, a[i].digest, b[i].digest))
		}
	}
	if len(diffs) == 0 {
		return "every layer matches; the image config differs (labels, environment or history)", nil
	}
	return strings.Join(diffs, "; "), nil
}
