package layer

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/internal/fsio"
	"github.com/hfpack/hfpack/internal/leftover"
)

// Descriptor identifies a written layer blob.
type Descriptor struct {
	// Digest is the sha256 of the blob as stored (compressed).
	Digest v1.Hash `json:"digest"`
	// DiffID is the sha256 of the uncompressed tar.
	DiffID v1.Hash `json:"diffID"`
	// Size is the blob's length in bytes.
	Size int64 `json:"size"`
	// Compression is how the blob is compressed.
	Compression Compression `json:"compression"`
}

// ErrChanged reports a file whose contents differ in length from what the
// tree recorded: it changed while the layer was being written.
var ErrChanged = errors.New("file changed while writing layer")

type options struct {
	compression Compression
	epoch       int64
	fileHashes  map[string]hash.Hash
}

// Option configures Write.
type Option func(*options) error

// WithCompression sets the layer's compression. The default is Gzip.
func WithCompression(c Compression) Option {
	return func(o *options) error {
		if _, err := c.MediaType(); err != nil {
			return err
		}
		o.compression = c
		return nil
	}
}

// WithEpoch sets the modification time of every entry, in seconds since the
// Unix epoch (SOURCE_DATE_EPOCH). The default is 0. Negative values are errors.
func WithEpoch(sec int64) Option {
	return func(o *options) error {
		if sec < 0 {
			return fmt.Errorf("negative epoch %d", sec)
		}
		o.epoch = sec
		return nil
	}
}

// WithFileHashes also writes the contents of each regular file whose tree
// path is a key of hashes to its hash, on a goroutine of its own beside the
// layer's digest, from the same buffer: a caller that needs every file's own
// sha256 (a plan's content hash, a lock's pin) gets them and the layer from
// one read of each file, in about the wall time of one hash on two cores.
// The hashes must be fresh; they are not reset.
func WithFileHashes(hashes map[string]hash.Hash) Option {
	return func(o *options) error {
		o.fileHashes = hashes
		return nil
	}
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{compression: Gzip, epoch: 0}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// BlobPath returns where Write puts the blob with digest h under dir:
// dir/<algorithm>/<hex>, the layout of an OCI image layout's blobs directory.
func BlobPath(dir string, h v1.Hash) string {
	return filepath.Join(dir, h.Algorithm, h.Hex)
}

// Write writes t as one layer blob under dir (at BlobPath(dir, digest)) in a
// single streaming pass and returns the layer. The blob appears at its final
// path only when complete; on error or cancellation nothing is left behind.
func Write(ctx context.Context, t *tree.Tree, dir string, opts ...Option) (*Layer, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "sha256"), 0o755); err != nil {
		return nil, err
	}
	f, err := fsio.Create(filepath.Join(dir, "layer"), 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Abort()
	// Held while written: the cache removes one no process holds.
	release, err := leftover.Hold(f.Name())
	if err != nil {
		return nil, err
	}
	defer release()
	bw := bufio.NewWriterSize(f, 1<<20)
	d, err := writeTo(ctx, t, bw, o)
	if err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	final := BlobPath(dir, d.Digest)
	if err := f.CommitAs(final); err != nil {
		return nil, err
	}
	return &Layer{path: final, desc: d}, nil
}

// countWriter counts and hashes what passes through to w.
type countWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

func writeTo(ctx context.Context, t *tree.Tree, w io.Writer, o *options) (Descriptor, error) {
	blob := &countWriter{w: w, h: sha256.New()}
	zw, err := o.compression.compressor(blob)
	if err != nil {
		return Descriptor{}, err
	}
	// For an uncompressed layer the blob is the tar: hash it once.
	var diff hash.Hash
	var tarSink io.Writer = zw
	var async *asyncWriter
	if o.compression != None {
		// The tar is hashed, compressed and the blob hashed on one
		// goroutine while this one reads and frames the next files.
		diff = sha256.New()
		async = newAsyncWriter(io.MultiWriter(diff, zw))
		defer async.Close()
		tarSink = async
	}
	tw := tar.NewWriter(tarSink)
	mtime := time.Unix(o.epoch, 0).UTC()
	entries := t.Entries()
	var ahead <-chan fetched
	if async != nil {
		stop := make(chan struct{})
		defer close(stop)
		ahead = readAhead(ctx, entries, stop)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return Descriptor{}, err
		}
		var f fetched
		if ahead != nil {
			f = <-ahead
		}
		err := writeEntry(ctx, tw, e, mtime, o.fileHashes[e.Path], f)
		if f.buf != nil {
			smallPool.Put(f.buf)
		}
		if err != nil {
			return Descriptor{}, err
		}
	}
	if err := tw.Close(); err != nil {
		return Descriptor{}, err
	}
	if async != nil {
		if err := async.Close(); err != nil {
			return Descriptor{}, err
		}
	}
	if err := zw.Close(); err != nil {
		return Descriptor{}, err
	}
	digest := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", blob.h.Sum(nil))}
	diffID := digest
	if diff != nil {
		diffID = v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", diff.Sum(nil))}
	}
	return Descriptor{Digest: digest, DiffID: diffID, Size: blob.n, Compression: o.compression}, nil
}

// header returns the normalised tar header of e.
func header(e tree.Entry, mtime time.Time) (*tar.Header, error) {
	h := &tar.Header{Name: e.Path, ModTime: mtime, Format: tar.FormatUnknown}
	switch e.Type {
	case tree.Dir:
		h.Typeflag, h.Name, h.Mode = tar.TypeDir, e.Path+"/", 0o755
	case tree.File:
		h.Typeflag, h.Size, h.Mode = tar.TypeReg, e.Size, 0o644
		if e.Mode&0o111 != 0 {
			h.Mode = 0o755
		}
	case tree.Symlink:
		h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.Linkname, 0o777
	default:
		return nil, fmt.Errorf("writing %q: unsupported entry type %s", e.Path, e.Type)
	}
	return h, nil
}

// writeEntry writes e to tw; a regular file's contents also go to
// fileHash when it is not nil (see WithFileHashes). They come from f when
// it read them ahead (or failed to), else from e.Open.
func writeEntry(ctx context.Context, tw *tar.Writer, e tree.Entry, mtime time.Time, fileHash hash.Hash, f fetched) error {
	h, err := header(e, mtime)
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("writing %q: %w", e.Path, err)
	}
	if e.Type != tree.File || e.Size == 0 && e.Open == nil {
		return nil
	}
	if f.err != nil {
		return f.err
	}
	if f.buf != nil {
		if _, err := tw.Write(f.data); err != nil {
			return copyError(e, err)
		}
		if fileHash != nil {
			fileHash.Write(f.data)
		}
		return nil
	}
	rc, err := e.Open()
	if err != nil {
		return openError(e, err)
	}
	defer rc.Close()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	r := ctxReader{ctx, io.LimitReader(rc, e.Size)}
	var n int64
	switch {
	case fileHash != nil && e.Size > int64(len(*bp)):
		n, err = copyHashing(tw, r, fileHash, *bp)
	case fileHash != nil: // one chunk: nothing to overlap
		n, err = io.CopyBuffer(io.MultiWriter(tw, fileHash), r, *bp)
	default:
		n, err = io.CopyBuffer(tw, r, *bp)
	}
	if err != nil {
		return copyError(e, err)
	}
	return checkEnd(e, n, rc)
}

func openError(e tree.Entry, err error) error { return fmt.Errorf("opening %q: %w", e.Path, err) }

func copyError(e tree.Entry, err error) error { return fmt.Errorf("writing %q: %w", e.Path, err) }

// checkEnd reports a file of which n bytes were read and rc yields more, or
// which yielded fewer than its recorded size: it changed since.
func checkEnd(e tree.Entry, n int64, rc io.Reader) error {
	var one [1]byte
	if m, _ := rc.Read(one[:]); n != e.Size || m > 0 {
		return fmt.Errorf("writing %q: %w: recorded size %d", e.Path, ErrChanged, e.Size)
	}
	return nil
}

// copyHashing copies r to w through buf, as io.CopyBuffer, and writes the
// same bytes to h on another goroutine while w takes them: each chunk is
// read once, then hashed into h and written to w at the same time (neither
// modifies it: io.Writer's contract), and the next read waits for both.
func copyHashing(w io.Writer, r io.Reader, h hash.Hash, buf []byte) (int64, error) {
	chunks, hashed := make(chan []byte), make(chan struct{})
	defer close(chunks)
	go func() {
		for b := range chunks {
			h.Write(b)
			hashed <- struct{}{}
		}
	}()
	var n int64
	for {
		m, rerr := r.Read(buf)
		if m > 0 {
			chunks <- buf[:m]
			k, werr := w.Write(buf[:m])
			<-hashed
			n += int64(k)
			if werr == nil && k != m {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return n, werr
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// ctxReader stops a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
