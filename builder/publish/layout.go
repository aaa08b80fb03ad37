package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hfpack/hfpack/internal/leftover"
)

// ErrNotLayout reports an oci: output that names a non-empty directory (or
// a file) that is not an OCI image layout: Publish never writes into it.
var ErrNotLayout = errors.New("not an OCI image layout")

// Names of the temporaries hfpack writes, which the next run removes when a
// killed build left them (internal/leftover).
const (
	tmpLayoutPrefix = ".hfpack-oci-"   // a new layout, beside the output
	tmpBlobPrefix   = ".hfpack-blob-"  // a blob, in blobs/sha256
	tmpIndexPrefix  = ".hfpack-index-" // index.json, in the layout
)

const (
	refNameAnnotation = "org.opencontainers.image.ref.name"
	layoutFileJSON    = `{"imageLayoutVersion": "1.0.0"}`
)

// writeLayout writes img, named ref (default "latest"), and the artifacts
// that refer to it into the OCI image layout at t.Path, as skopeo does: a
// missing or empty directory becomes a new layout, renamed into place when
// complete; in an existing layout the image is added, or replaces the one
// with the same name (and the artifacts that referred only to that one),
// and the other images stay. Blobs are complete before index.json names
// them, and index.json is replaced by a rename, so a reader sees the old
// layout or the new one. Anything else at the path is refused.
func writeLayout(ctx context.Context, img v1.Image, t Target, arts []v1.Image, descs []v1.Descriptor) error {
	dir := filepath.Clean(t.Path)
	ref := t.Ref
	if ref == "" {
		ref = "latest"
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	leftover.Clean(parent, tmpLayoutPrefix)
	state, err := inspectLayout(dir)
	if err != nil {
		return err
	}
	if state == existingLayout {
		// Two builds into one layout keep each other's images.
		unlock, err := leftover.Lock(dir)
		if err != nil {
			return err
		}
		defer unlock()
		return updateLayout(ctx, dir, img, ref, arts, descs)
	}
	tmp, err := os.MkdirTemp(parent, tmpLayoutPrefix+"*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	release, err := leftover.Hold(tmp)
	if err != nil {
		return err
	}
	defer release()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "oci-layout"), []byte(layoutFileJSON), 0o644); err != nil {
		return err
	}
	if err := updateLayout(ctx, tmp, img, ref, arts, descs); err != nil {
		return err
	}
	// os.Remove removes only an empty directory: one that stopped being
	// empty meanwhile makes it fail, and nothing is lost.
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.Rename(tmp, dir)
}

type layoutState int

const (
	noLayout layoutState = iota // missing, or an empty directory
	existingLayout
)

// inspectLayout says whether dir is missing or empty, or an OCI layout, and
// refuses anything else.
func inspectLayout(dir string) (layoutState, error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return noLayout, nil
	}
	if err != nil {
		return noLayout, err
	}
	if !fi.IsDir() {
		return noLayout, fmt.Errorf("%s is a file, %w: choose a new or empty directory, or an existing layout", dir, ErrNotLayout)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return noLayout, err
	}
	if len(entries) == 0 {
		return noLayout, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "oci-layout"))
	var lf struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err == nil && json.Unmarshal(b, &lf) == nil && lf.Version != "" {
		if _, err := readIndex(dir); err != nil {
			return noLayout, fmt.Errorf("%s: %w", dir, err)
		}
		return existingLayout, nil
	}
	return noLayout, fmt.Errorf("%s holds files and is %w (no valid oci-layout file); hfpack leaves it untouched: choose a new or empty directory, or an existing layout", dir, ErrNotLayout)
}

// readIndex reads dir's index.json; a layout without one is empty.
func readIndex(dir string) (*v1.IndexManifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}, nil
	}
	if err != nil {
		return nil, err
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("reading index.json: %w", err)
	}
	return &idx, nil
}

// updateLayout writes the blobs of img and arts into the layout at dir,
// then names them in its index.json. The caller holds dir.
func updateLayout(ctx context.Context, dir string, img v1.Image, ref string, arts []v1.Image, descs []v1.Descriptor) error {
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return err
	}
	leftover.Clean(blobs, tmpBlobPrefix)
	leftover.Clean(dir, tmpIndexPrefix)
	for _, im := range append([]v1.Image{img}, arts...) {
		if err := writeImageBlobs(ctx, blobs, im); err != nil {
			return err
		}
	}
	idx, err := readIndex(dir)
	if err != nil {
		return err
	}
	desc, err := partial.Descriptor(img)
	if err != nil {
		return err
	}
	desc.Annotations = map[string]string{refNameAnnotation: ref}
	idx.Manifests = mergeIndex(dir, idx.Manifests, *desc, descs)
	raw, err := json.MarshalIndent(idx, "", "   ")
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return writeFileAtomic(dir, tmpIndexPrefix, "index.json", bytes.NewReader(raw), nil)
}

// mergeIndex returns old with img in place of the entry of the same name
// (or appended) and the referrers added. Artifacts that referred only to a
// replaced image go with it; everything else stays, in its order.
func mergeIndex(dir string, old []v1.Descriptor, img v1.Descriptor, refs []v1.Descriptor) []v1.Descriptor {
	name := img.Annotations[refNameAnnotation]
	replaced := map[v1.Hash]bool{}
	live := map[v1.Hash]bool{img.Digest: true}
	for _, d := range old {
		if d.Annotations[refNameAnnotation] == name {
			replaced[d.Digest] = true
		} else {
			live[d.Digest] = true
		}
	}
	var out []v1.Descriptor
	placed := false
	for _, d := range old {
		switch {
		case d.Annotations[refNameAnnotation] == name:
			if !placed {
				out, placed = append(out, img), true
			}
		case orphaned(dir, d, replaced, live):
		default:
			out = append(out, d)
		}
	}
	if !placed {
		out = append(out, img)
	}
	for _, r := range refs {
		if !slices.ContainsFunc(out, func(d v1.Descriptor) bool {
			return d.Digest == r.Digest && d.Annotations[refNameAnnotation] == ""
		}) {
			out = append(out, r)
		}
	}
	return out
}

// orphaned reports whether d is an artifact whose subject was replaced and
// is no longer in the index.
func orphaned(dir string, d v1.Descriptor, replaced, live map[v1.Hash]bool) bool {
	s := subjectOf(dir, d)
	return s != nil && replaced[*s] && !live[*s]
}

// subjectOf returns the subject of an unnamed artifact listed in the
// index, or nil.
func subjectOf(dir string, d v1.Descriptor) *v1.Hash {
	if d.Annotations[refNameAnnotation] != "" || d.Digest.Algorithm != "sha256" || len(d.Digest.Hex) != 64 {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", d.Digest.Hex))
	if err != nil {
		return nil
	}
	var m struct {
		Subject *v1.Descriptor `json:"subject"`
	}
	if json.Unmarshal(b, &m) != nil || m.Subject == nil {
		return nil
	}
	return &m.Subject.Digest
}

// writeImageBlobs writes the layers, config and manifest of img into blobs
// (blobs/sha256 of a layout), skipping those already there.
func writeImageBlobs(ctx context.Context, blobs string, img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		size, err := l.Size()
		if err != nil {
			return err
		}
		if fl, ok := l.(blobFile); ok && linkBlob(blobs, fl.Path(), d, size) {
			continue
		}
		// A layer regenerated from its files checks its own stream: the
		// copy is not hashed a second time.
		sc, ok := l.(selfChecked)
		if err := writeBlob(ctx, blobs, d, size, l.Compressed, ok && sc.ChecksCompressed()); err != nil {
			return err
		}
	}
	for _, get := range []func() ([]byte, error){img.RawConfigFile, img.RawManifest} {
		b, err := get()
		if err != nil {
			return err
		}
		d, size, err := v1.SHA256(bytes.NewReader(b))
		if err != nil {
			return err
		}
		open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		if err := writeBlob(ctx, blobs, d, size, open, false); err != nil {
			return err
		}
	}
	return nil
}

// selfChecked is a layer whose Compressed stream checks the bytes it
// yields against the layer's digest and size and fails, instead of
// ending, when they differ (builder/layer.TreeLayer).
type selfChecked interface {
	ChecksCompressed() bool
}

// blobFile is a layer whose compressed blob is a file of its own, checked
// against its digest when it was written: builder/layer's cached layers and
// builder/llb's export store. Writing it into a layout on the same file
// system links the file instead of copying it.
type blobFile interface {
	Path() string
}

// linkBlob hard-links src as the blob h of size bytes in blobs, and reports
// whether blobs now has it: false when src is not a regular file of that
// size or cannot be linked there (another file system), and the blob is
// then copied. A blob already in place is kept.
func linkBlob(blobs, src string, h v1.Hash, size int64) bool {
	if h.Algorithm != "sha256" {
		return false
	}
	dst := filepath.Join(blobs, h.Hex)
	if fi, err := os.Stat(dst); err == nil && fi.Mode().IsRegular() && fi.Size() == size {
		return true
	}
	if fi, err := os.Stat(src); err != nil || !fi.Mode().IsRegular() || fi.Size() != size {
		return false
	}
	// Linked under a temporary name, then renamed: a blob of the wrong
	// size in place is replaced, as writeBlob would.
	f, err := os.CreateTemp(blobs, tmpBlobPrefix+"*")
	if err != nil {
		return false
	}
	tmp := f.Name()
	f.Close()
	os.Remove(tmp)
	if err := os.Link(src, tmp); err != nil {
		return false
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return false
	}
	return true
}

// writeBlob writes the blob h of size bytes into blobs unless a file of
// that size is there, checking its digest as it goes, unless the stream
// open returns checks itself (see selfChecked).
func writeBlob(ctx context.Context, blobs string, h v1.Hash, size int64, open func() (io.ReadCloser, error), selfChecking bool) error {
	if h.Algorithm != "sha256" {
		return fmt.Errorf("blob %s: only sha256 is supported", h)
	}
	if fi, err := os.Stat(filepath.Join(blobs, h.Hex)); err == nil && fi.Mode().IsRegular() && fi.Size() == size {
		return nil
	}
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	check := func(n int64, sum []byte) error {
		if n != size || hex.EncodeToString(sum) != h.Hex {
			return fmt.Errorf("blob %s: wrote %d bytes with digest sha256:%x, want %d bytes", h, n, sum, size)
		}
		return nil
	}
	if selfChecking {
		check = nil
	}
	return writeFileAtomic(blobs, tmpBlobPrefix, h.Hex, ctxReader{ctx, rc}, check)
}

// writeFileAtomic writes r to dir/name through a held temporary file named
// prefix*, checked by check (length and sha256) before the rename; with no
// check, r is not hashed.
func writeFileAtomic(dir, prefix, name string, r io.Reader, check func(int64, []byte) error) error {
	f, err := os.CreateTemp(dir, prefix+"*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	release, err := leftover.Hold(f.Name())
	if err != nil {
		f.Close()
		return err
	}
	defer release()
	var n int64
	if check != nil {
		h := sha256.New()
		if n, err = io.Copy(io.MultiWriter(f, h), r); err == nil {
			err = check(n, h.Sum(nil))
		}
	} else {
		_, err = io.Copy(f, r)
	}
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, name))
}

// ctxReader stops a read when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
