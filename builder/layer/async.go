package layer

import (
	"io"
	"sync/atomic"
)

// asyncWriter passes what is written to it on to a segmentWriter from a
// goroutine of its own, in chunks of up to asyncChunk bytes, in order: the
// writer's caller (reading, inflating and framing the tar) and the
// segmentWriter (hashing and compressing it) run on two cores instead of
// taking turns on one. The bytes the segmentWriter sees are exactly those
// written, each with the kind it was written as, so the output does not
// change.
type asyncWriter struct {
	cur  *chunk      // being filled
	full chan *chunk // filled, for the goroutine
	free chan *chunk // emptied, for the writer
	done chan struct{}
	err  error       // w's first error; read after done is closed
	bad  atomic.Bool // w failed: stop taking bytes
	shut bool
	// kind is what Write's bytes are: segTar, or segDiff while the
	// contents of a file whose DEFLATE stream the blob carries pass.
	kind segKind
}

// asyncBuffers is how many chunks of asyncChunk bytes an asyncWriter
// holds: the one being filled, the one being written, one spare each way.
const (
	asyncBuffers = 4
	asyncChunk   = 1 << 20
)

// segmentWriter takes a layer's bytes by kind.
type segmentWriter interface {
	// Write takes tar bytes: hashed into the diffID and compressed.
	io.Writer
	// writeDiff takes tar bytes the blob carries already compressed (see
	// beginMember): hashed into the diffID only.
	writeDiff(p []byte) error
	// beginMember ends the blob's current gzip member and starts one
	// whose DEFLATE stream writeMember gives as it is.
	beginMember() error
	writeMember(p []byte) error
	// endMember ends that member: its contents were size bytes (modulo
	// 2^32) with CRC-32 crc.
	endMember(crc, size uint32) error
}

type segKind uint8

const (
	segTar segKind = iota
	segDiff
	segMember
	segBegin // no bytes
	segEnd   // no bytes; crc and size
)

// seg is a run of n bytes of one kind in a chunk.
type seg struct {
	kind      segKind
	n         int
	crc, size uint32
}

type chunk struct {
	buf  []byte
	segs []seg
}

// deliver hands c's segments to w in order.
func (c *chunk) deliver(w segmentWriter) error {
	off := 0
	for _, s := range c.segs {
		p := c.buf[off : off+s.n]
		off += s.n
		var err error
		switch s.kind {
		case segTar:
			_, err = w.Write(p)
		case segDiff:
			err = w.writeDiff(p)
		case segMember:
			err = w.writeMember(p)
		case segBegin:
			err = w.beginMember()
		case segEnd:
			err = w.endMember(s.crc, s.size)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func newAsyncWriter(w segmentWriter) *asyncWriter {
	a := &asyncWriter{
		full: make(chan *chunk, asyncBuffers),
		free: make(chan *chunk, asyncBuffers),
		done: make(chan struct{}),
	}
	for range asyncBuffers - 1 {
		a.free <- &chunk{buf: make([]byte, 0, asyncChunk)}
	}
	a.cur = &chunk{buf: make([]byte, 0, asyncChunk)}
	go func() {
		defer close(a.done)
		for c := range a.full {
			if a.err == nil {
				if err := c.deliver(w); err != nil {
					a.err = err
					a.bad.Store(true)
				}
			}
			c.buf, c.segs = c.buf[:0], c.segs[:0]
			a.free <- c
		}
	}()
	return a
}

func (a *asyncWriter) Write(p []byte) (int, error) { return a.put(a.kind, p) }

// put appends p as bytes of kind k.
func (a *asyncWriter) put(k segKind, p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if a.bad.Load() {
			return n, a.Close()
		}
		c := a.cur
		m := copy(c.buf[len(c.buf):cap(c.buf)], p)
		c.buf = c.buf[:len(c.buf)+m]
		if last := len(c.segs) - 1; last >= 0 && c.segs[last].kind == k {
			c.segs[last].n += m
		} else {
			c.segs = append(c.segs, seg{kind: k, n: m})
		}
		n, p = n+m, p[m:]
		if len(c.buf) == cap(c.buf) {
			a.full <- c
			a.cur = <-a.free
		}
	}
	return n, nil
}

// mark appends a segment of no bytes.
func (a *asyncWriter) mark(s seg) error {
	if a.bad.Load() {
		return a.Close()
	}
	a.cur.segs = append(a.cur.segs, s)
	return nil
}

// Close writes what is buffered, waits for w to take everything and
// returns w's first error. It may be called more than once.
func (a *asyncWriter) Close() error {
	if !a.shut {
		a.shut = true
		if len(a.cur.segs) > 0 {
			a.full <- a.cur
		}
		close(a.full)
	}
	<-a.done
	return a.err
}

// tarOnly is the segmentWriter of a layer whose blob never carries a
// DEFLATE stream as it is: every byte is tar.
type tarOnly struct{ io.Writer }

func (t tarOnly) writeDiff(p []byte) error         { return errNoMembers }
func (t tarOnly) beginMember() error               { return errNoMembers }
func (t tarOnly) writeMember(p []byte) error       { return errNoMembers }
func (t tarOnly) endMember(crc, size uint32) error { return errNoMembers }
