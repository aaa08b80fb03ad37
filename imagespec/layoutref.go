package imagespec

import (
	"path/filepath"
	"strings"
)

// LayoutPrefix marks an image read from a local OCI image layout rather
// than a registry: "oci-layout:PATH[@sha256:...]", as BuildKit and
// [image] base write it.
const LayoutPrefix = "oci-layout:"

// LayoutRef is a parsed "oci-layout:PATH[@DIGEST]".
type LayoutRef struct {
	// Dir is the layout's directory, as written (possibly relative).
	Dir string
	// Digest names one image of the layout; "" means its only image.
	Digest string
}

// ParseLayoutRef splits an "oci-layout:" reference; ok is false for any
// other reference. The digest is not validated here.
func ParseLayoutRef(ref string) (r LayoutRef, ok bool) {
	rest, ok := strings.CutPrefix(ref, LayoutPrefix)
	if !ok {
		return LayoutRef{}, false
	}
	r.Dir, r.Digest, _ = strings.Cut(rest, "@")
	return r, true
}

// IsLayoutRef reports whether ref names an OCI layout.
func IsLayoutRef(ref string) bool { return strings.HasPrefix(ref, LayoutPrefix) }

// In returns r with a relative Dir taken relative to base (the manifest's
// directory).
func (r LayoutRef) In(base string) LayoutRef {
	if !filepath.IsAbs(r.Dir) {
		r.Dir = filepath.Join(base, r.Dir)
	}
	return r
}

// String returns the reference in its written form.
func (r LayoutRef) String() string {
	if r.Digest == "" {
		return LayoutPrefix + r.Dir
	}
	return LayoutPrefix + r.Dir + "@" + r.Digest
}
