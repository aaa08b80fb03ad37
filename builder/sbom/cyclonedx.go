package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hfpack/hfpack/internal/redact"
	"github.com/hfpack/hfpack/lockfile/pylock"
)

// MediaType is the media type of a CycloneDX JSON document, used as the
// artifactType and layer media type of an SBOM attached to an image.
const MediaType = "application/vnd.cyclonedx+json"

// SpecVersion is the CycloneDX specification version of the documents
// CycloneDX writes.
const SpecVersion = "1.5"

// ErrInvalidLock reports a locked package the SBOM cannot describe.
var ErrInvalidLock = errors.New("invalid lock")

// serialSpace is the UUID namespace of serial numbers: the version 5 UUID
// of the URL https://hfpack.dev/sbom.
var serialSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://hfpack.dev/sbom"))

type options struct {
	timestamp   time.Time
	toolVersion string
	digest      string
}

// Option configures CycloneDX.
type Option func(*options) error

// WithTimestamp records t, in UTC to the second, as the document's
// creation time. Pass the SOURCE_DATE_EPOCH time; the default, the zero
// time, leaves the timestamp out.
func WithTimestamp(t time.Time) Option {
	return func(o *options) error { o.timestamp = t; return nil }
}

// WithToolVersion records the version of hfpack that wrote the document;
// default none.
func WithToolVersion(v string) Option {
	return func(o *options) error { o.toolVersion = v; return nil }
}

// WithImageDigest records the digest ("sha256:<hex>") of the image the
// packages are installed in, as the version of the document's subject.
func WithImageDigest(d string) Option {
	return func(o *options) error {
		alg, hex, ok := strings.Cut(d, ":")
		if !ok || alg != "sha256" || len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
			return fmt.Errorf("image digest %q: want sha256:<64 hex digits>", d)
		}
		o.digest = d
		return nil
	}
}

// CycloneDX returns a CycloneDX 1.5 JSON SBOM of the packages locked in l,
// installed in the container image named image (a repository, or the
// project name for local outputs). Each package becomes a library
// component with a pkg:pypi package URL, the SHA-256 of its wheel and the
// wheel's download URL with any credentials removed.
func CycloneDX(l *pylock.Lock, image string, opts ...Option) ([]byte, error) {
	o := &options{}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if l == nil {
		return nil, fmt.Errorf("%w: no lock", ErrInvalidLock)
	}
	if image == "" {
		return nil, errors.New("sbom: no image name")
	}
	comps, err := components(l)
	if err != nil {
		return nil, err
	}
	b := bom{
		Schema:      "http://cyclonedx.org/schema/bom-1.5.schema.json",
		BOMFormat:   "CycloneDX",
		SpecVersion: SpecVersion,
		Version:     1,
		Metadata:    metadataFor(l, image, o),
		Components:  comps,
	}
	raw, err := encode(b)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	b.SerialNumber = "urn:uuid:" + uuid.NewSHA1(serialSpace, sum[:]).String()
	return encode(b)
}

func metadataFor(l *pylock.Lock, image string, o *options) metadata {
	m := metadata{
		Tools: &tools{Components: []component{{Type: "application", Name: "hfpack", Version: o.toolVersion}}},
		Component: &component{
			BOMRef:  image,
			Type:    "container",
			Name:    image,
			Version: o.digest,
		},
	}
	if !o.timestamp.IsZero() {
		m.Timestamp = o.timestamp.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	if t := l.HFPack; t != nil {
		for _, p := range []property{{"hfpack:python", t.Python}, {"hfpack:platform", t.Platform}, {"hfpack:glibc", t.Glibc}} {
			if p.Value != "" {
				m.Properties = append(m.Properties, p)
			}
		}
	}
	return m
}

// components returns one component per locked wheel, sorted by package URL.
func components(l *pylock.Lock) ([]component, error) {
	out := []component{}
	for _, p := range l.Packages {
		if p.Name == "" || p.Version == "" {
			return nil, fmt.Errorf("%w: package %q has no name or version", ErrInvalidLock, p.Name)
		}
		if len(p.Wheels) == 0 {
			out = append(out, componentFor(p, nil))
			continue
		}
		for _, w := range p.Wheels {
			c, err := wheelComponent(p, w)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b component) int { return strings.Compare(a.BOMRef, b.BOMRef) })
	for i := 1; i < len(out); i++ {
		if out[i].BOMRef == out[i-1].BOMRef {
			return nil, fmt.Errorf("%w: %s is locked twice", ErrInvalidLock, out[i].BOMRef)
		}
	}
	return out, nil
}

// wheelComponent describes package p installed from wheel w.
func wheelComponent(p pylock.Package, w pylock.Wheel) (component, error) {
	name := pylock.Normalize(p.Name)
	if len(w.SHA256) != 64 || strings.Trim(w.SHA256, "0123456789abcdef") != "" {
		return component{}, fmt.Errorf("%w: %s %s: wheel sha256 %q is not 64 lower-case hex digits", ErrInvalidLock, name, p.Version, w.SHA256)
	}
	c := componentFor(p, &w)
	c.Hashes = []hash{{Alg: "SHA-256", Content: w.SHA256}}
	if w.URL != "" {
		u, err := stripCredentials(w.URL)
		if err != nil {
			return component{}, fmt.Errorf("%w: %s %s: %w", ErrInvalidLock, name, p.Version, err)
		}
		c.ExternalReferences = []externalReference{{Type: "distribution", URL: u}}
	}
	return c, nil
}

// componentFor describes package p, from wheel w when not nil.
func componentFor(p pylock.Package, w *pylock.Wheel) component {
	name := pylock.Normalize(p.Name)
	file := ""
	if w != nil {
		file = w.Name
	}
	purl := PURL(name, p.Version, file)
	c := component{BOMRef: purl, Type: "library", Name: name, Version: p.Version, PURL: purl}
	if p.Marker != "" {
		c.Properties = []property{{"hfpack:marker", p.Marker}}
	}
	return c
}

// PURL returns the package URL of a Python package:
// pkg:pypi/NAME@VERSION, with ?file_name=FILE when file is not empty. The
// name is PEP 503 normalised; version and file name are percent-encoded.
func PURL(name, version, file string) string {
	s := "pkg:pypi/" + escape(pylock.Normalize(name)) + "@" + escape(version)
	if file != "" {
		s += "?file_name=" + escape(file)
	}
	return s
}

// escape percent-encodes every byte but the unreserved characters of
// RFC 3986, as the package URL specification asks.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// stripCredentials returns where a wheel came from, without the user
// information, query (signed URLs carry tokens there) or fragment of its
// URL. A URL that does not parse cleanly cannot be recorded safely: it is
// refused, and the error shows it redacted.
func stripCredentials(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file" {
		return "", fmt.Errorf("wheel url %q: want an http, https or file URL", redact.Text(s))
	}
	clean, ok := redact.URL(s)
	if !ok {
		return "", fmt.Errorf("wheel url %q: malformed", redact.Text(s))
	}
	return clean, nil
}

// encode marshals b without HTML escaping, indented, with a final newline.
func encode(b bom) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
