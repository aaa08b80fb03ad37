package layer

import (
	"io"
	"sync/atomic"
)

// asyncWriter passes what is written to it on to w from a goroutine of its
// own, in chunks of up to len(buffer) bytes, in order: the writer's caller
// (reading, inflating and framing the tar) and w (hashing and compressing
// it) run on two cores instead of taking turns on one. The bytes w sees
// are exactly those written, so the output does not change.
type asyncWriter struct {
	buf  []byte      // being filled
	full chan []byte // filled, for the goroutine
	free chan []byte // emptied, for the writer
	done chan struct{}
	err  error       // w's first error; read after done is closed
	bad  atomic.Bool // w failed: stop taking bytes
	shut bool
}

// asyncBuffers is how many buffers of asyncChunk bytes an asyncWriter
// holds: the one being filled, the one being written, one spare each way.
const (
	asyncBuffers = 4
	asyncChunk   = 1 << 20
)

func newAsyncWriter(w io.Writer) *asyncWriter {
	a := &asyncWriter{
		full: make(chan []byte, asyncBuffers),
		free: make(chan []byte, asyncBuffers),
		done: make(chan struct{}),
	}
	for range asyncBuffers - 1 {
		a.free <- make([]byte, 0, asyncChunk)
	}
	a.buf = make([]byte, 0, asyncChunk)
	go func() {
		defer close(a.done)
		for b := range a.full {
			if a.err == nil {
				if _, err := w.Write(b); err != nil {
					a.err = err
					a.bad.Store(true)
				}
			}
			a.free <- b[:0]
		}
	}()
	return a
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if a.bad.Load() {
			return n, a.Close()
		}
		k := copy(a.buf[len(a.buf):cap(a.buf)], p)
		a.buf = a.buf[:len(a.buf)+k]
		n, p = n+k, p[k:]
		if len(a.buf) == cap(a.buf) {
			a.full <- a.buf
			a.buf = <-a.free
		}
	}
	return n, nil
}

// Close writes what is buffered, waits for w to take everything and
// returns w's first error. It may be called more than once.
func (a *asyncWriter) Close() error {
	if !a.shut {
		a.shut = true
		if len(a.buf) > 0 {
			a.full <- a.buf
		}
		close(a.full)
	}
	<-a.done
	return a.err
}
