package layer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/gzip"

	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/internal/inflate"
)

// A gzip layer is a gzip stream of several members (RFC 1952, section
// 2.2), which every gzip reader decodes as one stream: the tar's headers
// and the files that come uncompressed go through a level-1 compressor; a
// file that comes as a DEFLATE stream (tree.Entry.Deflated: a wheel's
// member) goes, as it is, into a member of its own. Nothing is compressed
// twice: a wheel's files cost an inflate (the diffID and the file's own
// digest need the bytes) but no deflate, and keep the wheel's compression.
// The bytes are a function of the tree alone, so the layer's digest is as
// reproducible as before.

// ErrContentMismatch reports a file whose contents, inflated from the
// DEFLATE stream it came with, do not have their recorded CRC-32 or sha256.
var ErrContentMismatch = errors.New("contents do not match their recorded checksum")

// ErrBadDeflate reports a file whose DEFLATE stream is not valid.
var ErrBadDeflate = errors.New("invalid DEFLATE stream")

var errNoMembers = errors.New("layer: a DEFLATE stream spliced into a layer that is not gzip")

// memberHeader starts each spliced member: gzip magic, DEFLATE, no flags,
// no time, no extra flags, unknown OS: the same bytes every time.
var memberHeader = [10]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// gzipMembers writes a layer's blob as gzip members.
type gzipMembers struct {
	w    io.Writer // the blob
	zw   *gzip.Writer
	open bool // zw holds bytes of a member not yet ended
}

func newGzipMembers(w io.Writer) (*gzipMembers, error) {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	return &gzipMembers{w: w, zw: zw}, nil
}

// Write compresses p into the current member, starting one if needed.
func (g *gzipMembers) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	g.open = true
	return g.zw.Write(p)
}

// beginMember ends the current member and writes the header of a member
// whose DEFLATE stream follows in writeMember.
func (g *gzipMembers) beginMember() error {
	if g.open {
		if err := g.zw.Close(); err != nil {
			return err
		}
		g.zw.Reset(g.w)
		g.open = false
	}
	_, err := g.w.Write(memberHeader[:])
	return err
}

func (g *gzipMembers) writeMember(p []byte) error {
	_, err := g.w.Write(p)
	return err
}

func (g *gzipMembers) endMember(crc, size uint32) error {
	var t [8]byte
	binary.LittleEndian.PutUint32(t[:4], crc)
	binary.LittleEndian.PutUint32(t[4:], size)
	_, err := g.w.Write(t[:])
	return err
}

// Close ends the last member. A layer always ends in tar bytes (the
// archive's end), so the last member is a compressed one.
func (g *gzipMembers) Close() error { return g.zw.Close() }

// gzipSink is the segmentWriter of a gzip layer.
type gzipSink struct {
	diff hash.Hash
	gz   *gzipMembers
}

func (s gzipSink) Write(p []byte) (int, error) {
	s.diff.Write(p)
	return s.gz.Write(p)
}

func (s gzipSink) writeDiff(p []byte) error         { s.diff.Write(p); return nil }
func (s gzipSink) beginMember() error               { return s.gz.beginMember() }
func (s gzipSink) writeMember(p []byte) error       { return s.gz.writeMember(p) }
func (s gzipSink) endMember(crc, size uint32) error { return s.gz.endMember(crc, size) }

// spliced is a small file read ahead from its DEFLATE stream: the stream
// as the blob carries it (exactly to its end) and the contents, checked.
type spliced struct {
	raw    []byte
	rawBuf *[]byte
	crc    uint32
}

// readDeflated reads e's DEFLATE stream whole and inflates it into f's
// buffer, checking the contents against e's size, CRC-32 and sha256 (when
// set).
func readDeflated(ctx context.Context, e tree.Entry) fetched {
	rc, err := e.Deflated.Open()
	if err != nil {
		return fetched{err: openError(e, err)}
	}
	defer rc.Close()
	rb := smallPool.Get().(*[]byte)
	bp := smallPool.Get().(*[]byte)
	f := fetched{buf: bp, splice: &spliced{rawBuf: rb}}
	if e.Deflated.Size > int64(len(*rb)) {
		f.err = copyError(e, fmt.Errorf("%w: %d bytes for %d of contents", ErrBadDeflate, e.Deflated.Size, e.Size))
		return f
	}
	n, err := io.ReadFull(ctxReader{ctx, rc}, (*rb)[:e.Deflated.Size])
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		f.err = copyError(e, err)
		return f
	}
	br := bytes.NewReader((*rb)[:n])
	fl := inflate.Reader(br)
	defer inflate.Release(fl)
	got, err := io.ReadFull(fl, (*bp)[:e.Size])
	if err == nil {
		err = endOfStream(fl)
	}
	if err != nil {
		f.err = inflateError(e, int64(got), err)
		return f
	}
	f.data = (*bp)[:got]
	f.splice.raw = (*rb)[:n-br.Len()]
	f.splice.crc = crc32.ChecksumIEEE(f.data)
	if f.splice.crc != e.Deflated.CRC32 {
		f.err = crcMismatch(e, f.splice.crc)
		return f
	}
	if e.SHA256 != "" {
		if sum := sha256.Sum256(f.data); hex.EncodeToString(sum[:]) != e.SHA256 {
			f.err = mismatch(e, sum[:])
		}
	}
	return f
}

// endOfStream reports whether fl, which yielded all the contents, is at
// the end of its stream.
func endOfStream(fl io.Reader) error {
	var one [1]byte
	for range 100 { // io.Reader allows empty reads, not endless ones
		switch n, err := fl.Read(one[:]); {
		case n > 0:
			return errLonger
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
	}
	return io.ErrNoProgress
}

var errLonger = errors.New("longer than recorded")

func inflateError(e tree.Entry, n int64, err error) error {
	switch {
	case err == errLonger, err == io.EOF, err == io.ErrUnexpectedEOF && n < e.Size:
		return fmt.Errorf("writing %q: %w: it inflates to a length other than the recorded %d", e.Path, ErrBadDeflate, e.Size)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return copyError(e, err)
	}
	return fmt.Errorf("writing %q: %w: %v", e.Path, ErrBadDeflate, err)
}

func crcMismatch(e tree.Entry, crc uint32) error {
	return fmt.Errorf("writing %q: %w: recorded CRC-32 %08x, the inflated contents have %08x", e.Path, ErrContentMismatch, e.Deflated.CRC32, crc)
}

func mismatch(e tree.Entry, sum []byte) error {
	return fmt.Errorf("writing %q: %w: recorded %s, the inflated contents have %x", e.Path, ErrContentMismatch, e.SHA256, sum)
}

// streamDeflated writes the contents of a file too large to read ahead
// from its DEFLATE stream: the contents to the tar (hashed, not
// compressed), the stream itself, up to its end, to the blob.
func (w *writer) streamDeflated(ctx context.Context, e tree.Entry, fileHash hash.Hash) error {
	rc, err := e.Deflated.Open()
	if err != nil {
		return openError(e, err)
	}
	defer rc.Close()
	if err := w.async.mark(seg{kind: segBegin}); err != nil {
		return err
	}
	rec := &recorder{r: ctxReader{ctx, io.LimitReader(rc, e.Deflated.Size)}}
	br := bufio.NewReaderSize(rec, 64<<10)
	fl := inflate.Reader(br)
	defer inflate.Release(fl)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	crc := crc32.NewIEEE()
	var sum hash.Hash // only when there is a digest to check
	if e.SHA256 != "" {
		sum = sha256.New()
	}
	var n int64
	w.async.kind = segDiff
	defer func() { w.async.kind = segTar }()
	for n < e.Size {
		m, err := fl.Read((*bp)[:min(int64(len(*bp)), e.Size-n)])
		if m > 0 {
			if _, err := w.tw.Write((*bp)[:m]); err != nil {
				return copyError(e, err)
			}
			if sum != nil {
				sum.Write((*bp)[:m])
			}
			crc.Write((*bp)[:m])
			if fileHash != nil {
				fileHash.Write((*bp)[:m])
			}
			n += int64(m)
		}
		if err := w.emit(rec, br); err != nil {
			return err
		}
		if err != nil && (err != io.EOF || n < e.Size) {
			return inflateError(e, n, err)
		}
	}
	if err := endOfStream(fl); err != nil {
		return inflateError(e, n, err)
	}
	if err := w.emit(rec, br); err != nil {
		return err
	}
	if crc.Sum32() != e.Deflated.CRC32 {
		return crcMismatch(e, crc.Sum32())
	}
	if sum != nil && hex.EncodeToString(sum.Sum(nil)) != e.SHA256 {
		return mismatch(e, sum.Sum(nil))
	}
	return w.async.mark(seg{kind: segEnd, crc: crc.Sum32(), size: uint32(e.Size)})
}

// emit passes to the blob the stream bytes the inflater has consumed so
// far: those read through rec less those br still holds.
func (w *writer) emit(rec *recorder, br *bufio.Reader) error {
	used := rec.n - int64(br.Buffered()) - rec.emitted
	if used <= 0 {
		return nil
	}
	if _, err := w.async.put(segMember, rec.held[:used]); err != nil {
		return err
	}
	rec.emitted += used
	rec.held = append(rec.held[:0], rec.held[used:]...)
	return nil
}

// recorder holds what is read through it until emit takes it.
type recorder struct {
	r       io.Reader
	held    []byte
	n       int64 // bytes read through
	emitted int64
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.held = append(r.held, p[:n]...)
	r.n += int64(n)
	return n, err
}
