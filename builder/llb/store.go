package llb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/errdefs"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/hfpack/hfpack/internal/fsio"
	"github.com/hfpack/hfpack/internal/leftover"
)

// Store is a content-addressed store of blobs on local disk, laid out as
// an OCI image layout's blobs (DIR/blobs/sha256/HEX, no index.json), that
// BuildKit's OCI exporter writes into through the session (WithStore). The
// daemon asks for each blob whether the store has it and sends only those
// it lacks, so a rebuild transfers only the layers that changed; Image
// reads an exported image back.
//
// A Store is safe for concurrent use by goroutines and by processes
// sharing its directory: each blob is written to a temporary file that its
// writer holds (internal/leftover), checked against the digest and size the
// daemon announced, and renamed into place; a blob in place is never
// written again. The temporaries a killed build left are removed by the
// next OpenStore.
//
// Image records each read-back in images/HEX (the manifest's digest), whose
// modification time is the image's last use; StoreEntries describes the
// store by those for a prune, which must run while no build uses the store
// (hfpack keeps it inside the build cache and prunes both under its lock).
type Store struct {
	dir      string
	received atomic.Int64 // writers opened (blobs the daemon sends), for tests
}

// storeTmpPrefix names a blob being written, in blobs/sha256 (as
// fsio.Create names the temporary of a file "blob").
const storeTmpPrefix = ".tmp-blob-"

var _ content.Store = (*Store)(nil)

// OpenStore returns the store in dir, creating it if missing.
func OpenStore(dir string) (*Store, error) {
	s := &Store{dir: dir}
	if err := os.MkdirAll(s.blobDir(), 0o755); err != nil {
		return nil, fmt.Errorf("opening the BuildKit export store: %w", err)
	}
	leftover.Clean(s.blobDir(), storeTmpPrefix)
	return s, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) blobDir() string { return filepath.Join(s.dir, "blobs", "sha256") }

// BlobPath returns the path of the blob d, which may not exist. Only
// sha256 digests name blobs.
func (s *Store) BlobPath(d digest.Digest) (string, error) {
	if d.Algorithm() != digest.SHA256 || d.Validate() != nil {
		return "", fmt.Errorf("blob %q: %w: want a sha256 digest", d, errdefs.ErrInvalidArgument)
	}
	return filepath.Join(s.blobDir(), d.Encoded()), nil
}

// Info returns the size of the blob d, or an error satisfying
// errdefs.IsNotFound.
func (s *Store) Info(_ context.Context, d digest.Digest) (content.Info, error) {
	p, err := s.BlobPath(d)
	if err != nil {
		return content.Info{}, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return content.Info{}, fmt.Errorf("blob %s: %w", d, errdefs.ErrNotFound)
	}
	if err != nil {
		return content.Info{}, err
	}
	return content.Info{Digest: d, Size: fi.Size(), CreatedAt: fi.ModTime(), UpdatedAt: fi.ModTime()}, nil
}

// ReaderAt opens the blob desc.Digest.
func (s *Store) ReaderAt(_ context.Context, desc ocispec.Descriptor) (content.ReaderAt, error) {
	p, err := s.BlobPath(desc.Digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return sizedFile{f, fi.Size()}, nil
}

type sizedFile struct {
	*os.File
	size int64
}

func (f sizedFile) Size() int64 { return f.size }

// Writer starts writing a blob. When the descriptor names one the store
// already has, it returns an error satisfying errdefs.IsAlreadyExists:
// the daemon then sends nothing.
func (s *Store) Writer(_ context.Context, opts ...content.WriterOpt) (content.Writer, error) {
	var wo content.WriterOpts
	for _, o := range opts {
		if err := o(&wo); err != nil {
			return nil, err
		}
	}
	if wo.Desc.Digest != "" {
		p, err := s.BlobPath(wo.Desc.Digest)
		if err != nil {
			return nil, err
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && (wo.Desc.Size <= 0 || fi.Size() == wo.Desc.Size) {
			return nil, fmt.Errorf("blob %s: %w", wo.Desc.Digest, errdefs.ErrAlreadyExists)
		}
	}
	f, err := fsio.Create(filepath.Join(s.blobDir(), "blob"), 0o644)
	if err != nil {
		return nil, err
	}
	release, err := leftover.Hold(f.Name())
	if err != nil {
		f.Abort()
		return nil, err
	}
	s.received.Add(1)
	now := time.Now()
	return &blobWriter{s: s, f: f, release: release, h: sha256.New(), desc: wo.Desc,
		status: content.Status{Ref: wo.Ref, Total: wo.Desc.Size, Expected: wo.Desc.Digest, StartedAt: now, UpdatedAt: now}}, nil
}

// blobWriter writes one blob to a held temporary file.
type blobWriter struct {
	s       *Store
	f       *fsio.Pending
	release func()
	h       hash.Hash
	desc    ocispec.Descriptor
	status  content.Status
}

func (w *blobWriter) Write(p []byte) (int, error) {
	if w.f == nil {
		return 0, fmt.Errorf("write to a closed blob writer: %w", errdefs.ErrFailedPrecondition)
	}
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.status.Offset += int64(n)
	w.status.UpdatedAt = time.Now()
	return n, err
}

func (w *blobWriter) Digest() digest.Digest {
	return digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(w.h.Sum(nil)))
}

func (w *blobWriter) Status() (content.Status, error) { return w.status, nil }

// Truncate supports only starting over (size 0), which is all the content
// service asks of a writer that starts empty.
func (w *blobWriter) Truncate(size int64) error {
	if w.f == nil {
		return fmt.Errorf("truncate of a closed blob writer: %w", errdefs.ErrFailedPrecondition)
	}
	if size != 0 {
		return fmt.Errorf("truncate to %d: %w", size, errdefs.ErrNotImplemented)
	}
	if err := w.f.Truncate(0); err != nil {
		return err
	}
	if _, err := w.f.Seek(0, 0); err != nil {
		return err
	}
	w.h.Reset()
	w.status.Offset = 0
	return nil
}

// Commit checks what was written against size and expected (and the
// descriptor the writer was opened with) and renames it into place.
func (w *blobWriter) Commit(_ context.Context, size int64, expected digest.Digest, _ ...content.Opt) error {
	if w.f == nil {
		return fmt.Errorf("commit of a closed blob writer: %w", errdefs.ErrFailedPrecondition)
	}
	defer w.Close()
	got := w.Digest()
	for _, want := range []digest.Digest{expected, w.desc.Digest} {
		if want != "" && want != got {
			return fmt.Errorf("blob %s: received content with digest %s: %w", want, got, errdefs.ErrFailedPrecondition)
		}
	}
	for _, want := range []int64{size, w.desc.Size} {
		if want > 0 && want != w.status.Offset {
			return fmt.Errorf("blob %s: received %d bytes, want %d: %w", got, w.status.Offset, want, errdefs.ErrFailedPrecondition)
		}
	}
	p, err := w.s.BlobPath(got)
	if err != nil {
		return err
	}
	f := w.f
	w.f = nil
	defer w.release()
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Size() == w.status.Offset {
		f.Abort() // another build wrote it meanwhile
		return nil
	}
	return f.CommitAs(p)
}

// Close discards an uncommitted blob.
func (w *blobWriter) Close() error {
	if w.f != nil {
		w.f.Abort()
		w.f = nil
		w.release()
	}
	return nil
}

// Status reports no ingestion: every write is private to its writer and
// starts over when retried.
func (s *Store) Status(_ context.Context, ref string) (content.Status, error) {
	return content.Status{}, fmt.Errorf("ingestion %q: %w", ref, errdefs.ErrNotFound)
}

// ListStatuses reports no ingestion (see Status).
func (s *Store) ListStatuses(context.Context, ...string) ([]content.Status, error) { return nil, nil }

// Abort has nothing to cancel (see Status): a writer that is closed
// without a commit leaves nothing behind.
func (s *Store) Abort(_ context.Context, ref string) error {
	return fmt.Errorf("ingestion %q: %w", ref, errdefs.ErrNotFound)
}

// Update keeps no labels.
func (s *Store) Update(ctx context.Context, info content.Info, _ ...string) (content.Info, error) {
	return s.Info(ctx, info.Digest)
}

// Walk is not offered to the daemon.
func (s *Store) Walk(context.Context, content.WalkFunc, ...string) error {
	return fmt.Errorf("walking the export store: %w", errdefs.ErrNotImplemented)
}

// Delete is refused: what one build exported, a concurrent one may be
// reading.
func (s *Store) Delete(_ context.Context, d digest.Digest) error {
	return fmt.Errorf("deleting blob %s from the export store: %w", d, errdefs.ErrNotImplemented)
}
