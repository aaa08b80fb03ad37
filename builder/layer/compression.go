package layer

import (
	"errors"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression names how a layer's tar is compressed.
type Compression string

// The supported compressions. Changing the codec, its version or its level
// changes layer digests.
const (
	// Gzip is klauspost/compress gzip at level 1; the default for code.
	Gzip Compression = "gzip"
	// Zstd is klauspost/compress zstd at SpeedFastest, one goroutine.
	Zstd Compression = "zstd"
	// None stores the tar uncompressed; the default for model weights.
	None Compression = "none"
)

// FormatVersion numbers the bytes Write produces for a given tree and
// options: it is part of every cached layer's key (builder.LayerPlan.Key),
// so a build never mixes blobs of two formats. Version 2 carries the
// DEFLATE streams of wheel members in gzip layers as they are.
const FormatVersion = 2

// ErrUnknownCompression reports a compression name that is not gzip, zstd or none.
var ErrUnknownCompression = errors.New("unknown compression")

// ParseCompression returns the Compression named s ("gzip", "zstd", "none";
// "uncompressed" is accepted for none).
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "gzip":
		return Gzip, nil
	case "zstd":
		return Zstd, nil
	case "none", "uncompressed":
		return None, nil
	}
	return "", fmt.Errorf("%w %q: want gzip, zstd or none", ErrUnknownCompression, s)
}

// MediaType returns the OCI layer media type for c.
func (c Compression) MediaType() (types.MediaType, error) {
	switch c {
	case Gzip:
		return types.OCILayer, nil
	case Zstd:
		return types.OCILayerZStd, nil
	case None:
		return types.OCIUncompressedLayer, nil
	}
	return "", fmt.Errorf("%w %q", ErrUnknownCompression, string(c))
}

// compressor wraps w in the encoder for c.
func (c Compression) compressor(w io.Writer) (io.WriteCloser, error) {
	switch c {
	case Gzip:
		return gzip.NewWriterLevel(w, gzip.BestSpeed)
	case Zstd:
		return zstd.NewWriter(w,
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(1))
	case None:
		return nopWriteCloser{w}, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownCompression, string(c))
}

// decompressor wraps r in the decoder for c.
func (c Compression) decompressor(r io.ReadCloser) (io.ReadCloser, error) {
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			r.Close()
			return nil, err
		}
		return readCloser{zr, func() error { zr.Close(); return r.Close() }}, nil
	case Zstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			r.Close()
			return nil, err
		}
		return readCloser{zr, func() error { zr.Close(); return r.Close() }}, nil
	case None:
		return r, nil
	}
	r.Close()
	return nil, fmt.Errorf("%w %q", ErrUnknownCompression, string(c))
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }
