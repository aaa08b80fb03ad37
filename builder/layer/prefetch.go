package layer

import (
	"context"
	"io"
	"sync"

	"github.com/hfpack/hfpack/builder/tree"
)

// Small files are read ahead, on a goroutine of their own, by up to
// prefetchDepth entries: opening a wheel member, inflating it and checking
// its hash then overlap the tar framing of the files before it and the
// compression of the tar (see asyncWriter), instead of waiting for them.
// At most prefetchDepth*prefetchMax bytes are held.
const (
	prefetchMax   = 256 << 10
	prefetchDepth = 32
)

var smallPool = sync.Pool{New: func() any { b := make([]byte, prefetchMax); return &b }}

// fetched is the outcome of reading one entry ahead: its contents (buf
// holds them, from smallPool), or the error reading them, or neither for an
// entry not read ahead.
type fetched struct {
	buf  *[]byte
	data []byte
	err  error
}

// readAhead reads entries' small regular files in order on a new goroutine
// and sends one fetched per entry, in order, until stop is closed.
func readAhead(ctx context.Context, entries []tree.Entry, stop <-chan struct{}) <-chan fetched {
	ch := make(chan fetched, prefetchDepth)
	go func() {
		defer close(ch)
		for _, e := range entries {
			var f fetched
			if e.Type == tree.File && e.Open != nil && e.Size <= prefetchMax {
				f = readSmall(ctx, e)
			}
			select {
			case ch <- f:
			case <-stop:
				return
			}
		}
	}()
	return ch
}

// readSmall reads e's contents as writeEntry would copy them, with the
// same errors.
func readSmall(ctx context.Context, e tree.Entry) fetched {
	rc, err := e.Open()
	if err != nil {
		return fetched{err: openError(e, err)}
	}
	defer rc.Close()
	bp := smallPool.Get().(*[]byte)
	f := fetched{buf: bp}
	n, err := io.ReadFull(ctxReader{ctx, rc}, (*bp)[:e.Size])
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil // short: reported as changed below
	}
	if err != nil {
		f.err = copyError(e, err)
		return f
	}
	f.data = (*bp)[:n]
	f.err = checkEnd(e, int64(n), rc)
	return f
}
