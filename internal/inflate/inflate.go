// Package inflate reuses klauspost/compress inflaters (readers of raw
// DEFLATE streams, RFC 1951): they yield the same bytes as compress/flate's,
// about a quarter faster, and each holds a window and tables worth keeping
// between the thousands of small streams of a wheel.
package inflate

import (
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

var pool sync.Pool

// Reader returns an inflater of the raw DEFLATE stream r, reused from an
// earlier Release when there is one.
func Reader(r io.Reader) io.ReadCloser {
	if fl, ok := pool.Get().(io.ReadCloser); ok {
		if err := fl.(flate.Resetter).Reset(r, nil); err == nil {
			return fl
		}
	}
	return flate.NewReader(r)
}

// Release hands fl, from Reader, back for reuse. Its caller must not read
// it again.
func Release(fl io.ReadCloser) { pool.Put(fl) }
