package protocol

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// Stream is one generation running in the worker. Its pieces arrive in the
// order the handler yielded them. Next is for one goroutine; Close may be
// called from any.
type Stream struct {
	c      *Conn
	id     uint64
	signal chan struct{} // a message was pushed
	ended  chan struct{} // closed once the worker has finished the generator

	mu        sync.Mutex
	queue     []Message
	err       error // connection error, after the queue
	finished  bool  // end, error or connection error received
	cancelled bool  // Close sent a cancel

	// The window (see StreamWindow): unacked counts the bytes of pieces
	// received and not yet acknowledged, taken those of them Next has
	// returned; blocked is set when the worker says it waits for an ack.
	unacked, taken int
	blocked        bool
}

// charge counts a piece of n bytes against the window. A worker that sends
// past it breaks the protocol: the connection ends with the error, so the
// sidecar's memory stays bounded whatever the worker does.
func (s *Stream) charge(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unacked > 0 && s.unacked+n > StreamWindow {
		return fmt.Errorf("worker sent %d bytes of generation %d past its window of %d", s.unacked+n, s.id, StreamWindow)
	}
	s.unacked += n
	return nil
}

// wait records that the worker waits for an ack to send its next piece.
func (s *Stream) wait() {
	s.mu.Lock()
	s.blocked = true
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// ackLocked returns the ack to send for what Next has taken, if one is
// due: every half window, and when the worker waits for one and Next has
// taken every piece received (acking each piece taken would pace the
// generator to one piece per round trip).
func (s *Stream) ackLocked() int {
	if s.taken == 0 || s.finished || s.taken < StreamWindow/2 && !(s.blocked && len(s.queue) == 0) {
		return 0
	}
	n := s.taken
	s.unacked -= n
	s.taken, s.blocked = 0, false
	return n
}

// ack tells the worker the generation's consumer has taken n bytes.
func (s *Stream) ack(n int) {
	if n == 0 {
		return
	}
	err := s.c.write(func(b *bytes.Buffer) {
		b.WriteString(`{"type":"ack","id":`)
		b.WriteString(strconv.FormatUint(s.id, 10))
		b.WriteString(`,"bytes":`)
		b.WriteString(strconv.Itoa(n))
		b.WriteByte('}')
	})
	if err != nil { // the connection is going; its reader ends the stream
		s.c.Close()
	}
}

// push queues a message from the reader; err reports a lost connection.
func (s *Stream) push(m Message, err error) {
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		return
	}
	if err != nil {
		s.err, s.finished = err, true
	} else {
		s.queue = append(s.queue, m)
		if m.Type != TypePiece {
			s.finished = true
		}
	}
	fin := s.finished
	s.mu.Unlock()
	if fin {
		close(s.ended)
	}
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// Next returns the next piece the generator yielded, as the JSON value it
// yielded. At the end of the generator it returns io.EOF; a handler
// exception is a *HandlerError; a lost worker is ErrClosed's cause; when ctx
// ends first, ctx's error (the generation keeps running until Close).
func (s *Stream) Next(ctx context.Context) (json.RawMessage, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			m := s.queue[0]
			s.queue[0] = Message{}
			s.queue = s.queue[1:]
			if m.Type == TypePiece {
				s.taken += m.size
			}
			ack := s.ackLocked()
			s.mu.Unlock()
			s.ack(ack)
			switch m.Type {
			case TypePiece:
				return m.Data, nil
			case TypeEnd:
				return nil, io.EOF
			default:
				return nil, &HandlerError{Message: m.Error, Traceback: m.Traceback}
			}
		}
		err := s.err
		ack := s.ackLocked()
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
		s.ack(ack)
		select {
		case <-s.signal:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close asks the worker to close the generator if it has not finished; the
// worker does so before the generator's next piece. Ended reports when it has.
func (s *Stream) Close() {
	s.mu.Lock()
	send := !s.finished && !s.cancelled
	s.cancelled = true
	s.mu.Unlock()
	if !send {
		return
	}
	err := s.c.write(func(b *bytes.Buffer) {
		b.WriteString(`{"type":"cancel","id":`)
		b.WriteString(strconv.FormatUint(s.id, 10))
		b.WriteByte('}')
	})
	if err != nil { // the connection is going; its reader ends the stream
		s.c.Close()
	}
}

// Ended is closed once the worker has finished the generator (it ended,
// raised or was closed) or the connection was lost: the generation no
// longer holds a place in the worker.
func (s *Stream) Ended() <-chan struct{} { return s.ended }

// Abort gives up on the worker running the stream: its connection closes
// with err, failing every call on it, so the worker is restarted. For a
// generator that does not close after Close.
func (s *Stream) Abort(err error) { s.c.Abort(err) }
