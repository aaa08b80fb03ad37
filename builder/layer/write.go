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
	// aheadMax, when positive, lowers the size of the files read ahead
	// (prefetchMax): the fuzz tests stream small files.
	aheadMax int64
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

// writer frames one layer's tar.
type writer struct {
	o     *options
	tw    *tar.Writer
	async *asyncWriter // nil for an uncompressed layer
	mtime time.Time
}

// splices reports whether e's contents go into the blob as the DEFLATE
// stream they came with (see gzipMembers).
func (w *writer) splices(e tree.Entry) bool {
	return w.o.compression == Gzip && e.Type == tree.File && e.Deflated != nil && e.Size >= spliceMin
}

// spliceMin is the smallest file whose DEFLATE stream a layer carries as
// it is. A member of its own costs 18 bytes of framing and restarts the
// level-1 compressor of the tar headers without its window; for smaller
// files that outweighs the little CPU their compression takes.
const spliceMin = 1 << 10

func writeTo(ctx context.Context, t *tree.Tree, w io.Writer, o *options) (Descriptor, error) {
	blob := &countWriter{w: w, h: sha256.New()}
	var (
		diff      hash.Hash // of the tar; nil when the blob is the tar
		tarSink   io.Writer
		closeBlob func() error
	)
	lw := &writer{o: o, mtime: time.Unix(o.epoch, 0).UTC()}
	// Except for an uncompressed layer, the tar is hashed, compressed and
	// the blob hashed on one goroutine while this one reads and frames the
	// next files.
	switch o.compression {
	case None:
		tarSink, closeBlob = blob, func() error { return nil }
	case Gzip:
		gz, err := newGzipMembers(blob)
		if err != nil {
			return Descriptor{}, err
		}
		diff = sha256.New()
		lw.async, closeBlob = newAsyncWriter(gzipSink{diff, gz}), gz.Close
	default:
		zw, err := o.compression.compressor(blob)
		if err != nil {
			return Descriptor{}, err
		}
		diff = sha256.New()
		lw.async, closeBlob = newAsyncWriter(tarOnly{io.MultiWriter(diff, zw)}), zw.Close
	}
	if lw.async != nil {
		defer lw.async.Close()
		tarSink = lw.async
	}
	lw.tw = tar.NewWriter(tarSink)
	entries := t.Entries()
	next := func() fetched { return fetched{} }
	if lw.async != nil {
		stop := make(chan struct{})
		defer close(stop)
		limit := int64(prefetchMax)
		if o.aheadMax > 0 {
			limit = min(limit, o.aheadMax)
		}
		next = readAhead(ctx, entries, lw.splices, limit, stop)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return Descriptor{}, err
		}
		f := next()
		err := lw.writeEntry(ctx, e, o.fileHashes[e.Path], f)
		f.release()
		if err != nil {
			return Descriptor{}, err
		}
	}
	if err := lw.tw.Close(); err != nil {
		return Descriptor{}, err
	}
	if lw.async != nil {
		if err := lw.async.Close(); err != nil {
			return Descriptor{}, err
		}
	}
	if err := closeBlob(); err != nil {
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

// writeEntry writes e to the tar; a regular file's contents also go to
// fileHash when it is not nil (see WithFileHashes). They come from f when
// it read them ahead (or failed to), else from e.Open, or from e.Deflated
// when the blob carries that as it is.
func (w *writer) writeEntry(ctx context.Context, e tree.Entry, fileHash hash.Hash, f fetched) error {
	h, err := header(e, w.mtime)
	if err != nil {
		return err
	}
	if err := w.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("writing %q: %w", e.Path, err)
	}
	if e.Type != tree.File || e.Size == 0 && e.Open == nil {
		return nil
	}
	if f.err != nil {
		return f.err
	}
	if f.splice != nil {
		return w.writeSpliced(e, fileHash, f)
	}
	if f.buf != nil {
		if _, err := w.tw.Write(f.data); err != nil {
			return copyError(e, err)
		}
		if fileHash != nil {
			fileHash.Write(f.data)
		}
		return nil
	}
	if w.splices(e) {
		return w.streamDeflated(ctx, e, fileHash)
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
		n, err = copyHashing(w.tw, r, fileHash, *bp)
	case fileHash != nil: // one chunk: nothing to overlap
		n, err = io.CopyBuffer(io.MultiWriter(w.tw, fileHash), r, *bp)
	default:
		n, err = io.CopyBuffer(w.tw, r, *bp)
	}
	if err != nil {
		return copyError(e, err)
	}
	return checkEnd(e, n, rc)
}

// writeSpliced writes a file read ahead from its DEFLATE stream: its
// contents to the tar, hashed but not compressed, and the stream, in a
// gzip member of its own, to the blob.
func (w *writer) writeSpliced(e tree.Entry, fileHash hash.Hash, f fetched) error {
	a := w.async
	if err := a.mark(seg{kind: segBegin}); err != nil {
		return err
	}
	a.kind = segDiff
	_, err := w.tw.Write(f.data)
	a.kind = segTar
	if err != nil {
		return copyError(e, err)
	}
	if _, err := a.put(segMember, f.splice.raw); err != nil {
		return err
	}
	if fileHash != nil {
		fileHash.Write(f.data)
	}
	return a.mark(seg{kind: segEnd, crc: f.splice.crc, size: uint32(e.Size)})
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
