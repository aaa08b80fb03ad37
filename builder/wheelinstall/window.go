package wheelinstall

import (
	"io"
	"sync"
)

// windowReader serves small reads at nearby offsets from one window of
// the underlying file, read at once. zip.File.DataOffset reads each
// member's local header on its own: over a wheel of 60,000 members read in
// archive order, that is 60,000 system calls where a window takes one per
// window's worth of the archive.
type windowReader struct {
	r    io.ReaderAt
	size int64 // of r

	mu  sync.Mutex
	buf []byte // the window: r's bytes from off
	off int64
	n   int // valid bytes in buf
}

func newWindowReader(r io.ReaderAt, size int64, window int) *windowReader {
	return &windowReader{r: r, size: size, buf: make([]byte, window)}
}

func (w *windowReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || len(p) >= len(w.buf)/2 {
		return w.r.ReadAt(p, off) // large reads gain nothing from a copy
	}
	if off >= w.size {
		return 0, io.EOF
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	// Written so as not to overflow: a zip64 header may give any offset.
	if off < w.off || off-w.off > int64(w.n)-int64(len(p)) {
		n, err := w.r.ReadAt(w.buf[:min(int64(len(w.buf)), w.size-off)], off)
		if err != nil && err != io.EOF {
			w.n = 0
			return 0, err
		}
		w.off, w.n = off, n
	}
	n := copy(p, w.buf[off-w.off:w.n])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
