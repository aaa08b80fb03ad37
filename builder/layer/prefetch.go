package layer

import (
	"context"
	"io"
	"runtime"
	"sync"

	"github.com/hfpack/hfpack/builder/tree"
)

// Small files are read ahead, by up to prefetchDepth entries, on
// prefetchWorkers goroutines: opening a wheel member, inflating it and
// checking its hash then overlap each other, the tar framing of the files
// before them and the hashing and compression of the tar (see
// asyncWriter), instead of waiting for them. At most about
// 2*prefetchDepth*prefetchMax bytes are held.
const (
	prefetchMax   = 256 << 10
	prefetchDepth = 32
)

// prefetchWorkers is how many goroutines read ahead: one per core, at
// least two (one of them then waits on the disk while the other inflates),
// at most four.
var prefetchWorkers = min(max(runtime.GOMAXPROCS(0), 2), 4)

var smallPool = sync.Pool{New: func() any { b := make([]byte, prefetchMax); return &b }}

// fetched is the outcome of reading one entry ahead: its contents (buf
// holds them, from smallPool), or the error reading them, or neither for an
// entry not read ahead. splice is set for contents read from a DEFLATE
// stream that the blob carries as it is.
type fetched struct {
	buf    *[]byte
	data   []byte
	err    error
	splice *spliced
}

// release returns f's buffers to the pool.
func (f fetched) release() {
	if f.buf != nil {
		smallPool.Put(f.buf)
	}
	if f.splice != nil && f.splice.rawBuf != nil {
		smallPool.Put(f.splice.rawBuf)
	}
}

// readAhead reads entries' small regular files (of up to limit bytes, at
// most prefetchMax) on new goroutines and
// returns a function that yields one fetched per entry, in order; it
// stops when stop is closed. A file that splices (see writer.splices) is
// read from its DEFLATE stream.
func readAhead(ctx context.Context, entries []tree.Entry, splices func(tree.Entry) bool, limit int64, stop <-chan struct{}) func() fetched {
	type job struct {
		e      tree.Entry
		splice bool
		res    chan fetched
	}
	jobs := make(chan job)
	order := make(chan chan fetched, prefetchDepth)
	for range prefetchWorkers {
		go func() {
			for j := range jobs {
				if j.splice {
					j.res <- readDeflated(ctx, j.e)
				} else {
					j.res <- readSmall(ctx, j.e)
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, e := range entries {
			res := make(chan fetched, 1)
			select {
			case order <- res:
			case <-stop:
				return
			}
			small := e.Type == tree.File && e.Open != nil && e.Size <= limit
			splice := small && splices(e) && e.Deflated.Size <= limit
			if !small || splices(e) && !splice {
				res <- fetched{} // streamed in turn
				continue
			}
			select {
			case jobs <- job{e, splice, res}:
			case <-stop:
				return
			}
		}
	}()
	return func() fetched { return <-<-order }
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
