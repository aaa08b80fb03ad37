package layer

import (
	"archive/tar"
	"bytes"
	stdflate "compress/flate"
	stdgzip "compress/gzip"
	"context"
	"errors"
	"hash/crc32"
	"io"
	"testing"

	"github.com/hfpack/hfpack/builder/tree"
)

// FuzzSplicedLayer gives the layer writer a hostile DEFLATE stream (a
// wheel member's data is whatever the wheel says) claiming size bytes of
// contents, read ahead or streamed. The write either fails with
// ErrBadDeflate, or its blob is a gzip stream that compress/gzip reads
// back to a tar holding exactly what compress/flate inflates the stream to.
func FuzzSplicedLayer(f *testing.F) {
	f.Add(deflate(f, source(3000, 1), 6), uint32(3000), false)
	f.Add(deflate(f, source(3000, 1), 6), uint32(2999), false)
	f.Add(append(deflate(f, source(2000, 2), 1), "junk"...), uint32(2000), false)
	f.Add(deflate(f, weightsOf(6000, 3), 0), uint32(6000), false)
	f.Add([]byte{0x03, 0x00}, uint32(1024), false) // an empty final block
	f.Add([]byte{0xff, 0xff, 0xff}, uint32(2048), true)
	f.Add(deflate(f, bytes.Repeat([]byte("a"), 5000), 9)[:10], uint32(5000), false)
	f.Fuzz(func(t *testing.T, raw []byte, size uint32, large bool) {
		// Files of up to 8 KiB; those over 4 KiB, and all when large is
		// set, are streamed instead of read ahead.
		n := int64(size % (8 << 10))
		o := &options{compression: Gzip, aheadMax: 4 << 10}
		if large {
			o.aheadMax = 1
		}
		if n < spliceMin {
			return // read through Open
		}
		// The recorded CRC-32 is that of what compress/flate inflates.
		want, ferr := io.ReadAll(io.LimitReader(stdflate.NewReader(bytes.NewReader(raw)), n+1))
		tr := tree.New()
		e := tree.Entry{Path: "f", Type: tree.File, Mode: 0o644, Size: n,
			Open:     func() (io.ReadCloser, error) { return nil, errors.New("read through Deflated only") },
			Deflated: &tree.Deflated{Size: int64(len(raw)), CRC32: crc32.ChecksumIEEE(want), Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }}}
		if err := tr.Add(e); err != nil {
			t.Fatal(err)
		}
		var blob bytes.Buffer
		_, err := writeTo(context.Background(), tr, &blob, o)
		if err != nil {
			if !errors.Is(err, ErrBadDeflate) {
				t.Fatalf("write = %v, want success or ErrBadDeflate", err)
			}
			return
		}
		if ferr != nil || int64(len(want)) != n {
			t.Fatalf("writer took a stream compress/flate reads as %d bytes, %v; want %d", len(want), ferr, n)
		}
		zr, err := stdgzip.NewReader(&blob)
		if err != nil {
			t.Fatal(err)
		}
		r := tar.NewReader(zr)
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("reading the layer back: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("layer holds %d bytes, want the %d the stream inflates to", len(got), len(want))
		}
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("after the file: %v, want EOF", err)
		}
		if _, err := io.Copy(io.Discard, zr); err != nil {
			t.Fatalf("reading the blob to its end: %v", err)
		}
	})
}
