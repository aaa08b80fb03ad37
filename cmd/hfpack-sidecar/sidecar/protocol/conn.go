package protocol

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Message types.
const (
	TypeHello     = "hello"
	TypeReady     = "ready"
	TypeLoadError = "load_error"
	TypePredict   = "predict"
	TypeResult    = "result"
	TypeError     = "error"
	TypeShutdown  = "shutdown"
)

// Message is any frame the worker sends; fields unused by a type are empty.
type Message struct {
	Type        string            `json:"type"`
	ID          uint64            `json:"id,omitempty"`
	Protocol    int               `json:"protocol,omitempty"`
	PID         int               `json:"pid,omitempty"`
	Python      string            `json:"python,omitempty"`
	Error       string            `json:"error,omitempty"`
	Traceback   string            `json:"traceback,omitempty"`
	Predictions []json.RawMessage `json:"predictions,omitempty"`
}

// HandlerError is an exception raised by the user's handler, while loading
// (Load is true) or while predicting. The connection stays usable after a
// predict-time HandlerError.
type HandlerError struct {
	Load      bool
	Message   string // "ExceptionType: text"
	Traceback string // Python traceback, for logs; sent to clients only in debug mode
}

func (e *HandlerError) Error() string {
	if e.Load {
		return "loading handler: " + e.Message
	}
	return "handler: " + e.Message
}

// Conn is the sidecar's end of a worker connection. It is not safe for
// concurrent use: one goroutine drives it. Any error other than a predict-time
// *HandlerError leaves the stream in an unknown state; close the Conn and
// restart the worker.
type Conn struct {
	c      net.Conn
	r      *bufio.Reader
	nextID uint64
	buf    bytes.Buffer
}

// NewConn wraps an accepted worker connection.
func NewConn(c net.Conn) *Conn {
	return &Conn{c: c, r: bufio.NewReaderSize(c, 64<<10)}
}

// Close closes the underlying connection.
func (c *Conn) Close() error { return c.c.Close() }

// Hello reads the worker's greeting and checks its protocol version.
func (c *Conn) Hello(ctx context.Context) (Message, error) {
	m, err := c.read(ctx)
	if err != nil {
		return m, fmt.Errorf("reading worker hello: %w", err)
	}
	if m.Type != TypeHello {
		return m, fmt.Errorf("reading worker hello: got message %q", m.Type)
	}
	if m.Protocol != Version {
		return m, fmt.Errorf("worker speaks protocol %d, sidecar speaks %d: rebuild the image with matching hfpack versions", m.Protocol, Version)
	}
	return m, nil
}

// WaitReady blocks until the worker has loaded the handler. A load failure
// is returned as a *HandlerError with Load set.
func (c *Conn) WaitReady(ctx context.Context) error {
	m, err := c.read(ctx)
	if err != nil {
		return fmt.Errorf("waiting for worker to load: %w", err)
	}
	switch m.Type {
	case TypeReady:
		return nil
	case TypeLoadError:
		return &HandlerError{Load: true, Message: m.Error, Traceback: m.Traceback}
	default:
		return fmt.Errorf("waiting for worker to load: got message %q", m.Type)
	}
}

// Predict sends one batch and waits for its predictions, one per instance in
// order. params must be a JSON object or nil; each instance must be valid JSON.
// When ctx ends first, Predict returns ctx's error and the Conn is unusable.
func (c *Conn) Predict(ctx context.Context, params json.RawMessage, instances []json.RawMessage) ([]json.RawMessage, error) {
	c.nextID++
	id := c.nextID
	c.encodePredict(id, params, instances)
	stop := context.AfterFunc(ctx, func() { c.c.SetDeadline(time.Now()) })
	defer stop()
	if err := WriteFrame(c.c, c.buf.Bytes()); err != nil {
		return nil, c.ctxErr(ctx, fmt.Errorf("sending batch: %w", err))
	}
	m, err := c.read(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading predictions: %w", err)
	}
	if m.ID != id {
		return nil, fmt.Errorf("reading predictions: got answer to batch %d, want %d", m.ID, id)
	}
	switch m.Type {
	case TypeResult:
		if len(m.Predictions) != len(instances) {
			return nil, &HandlerError{Message: fmt.Sprintf("handler returned %d predictions for %d instances", len(m.Predictions), len(instances))}
		}
		return m.Predictions, nil
	case TypeError:
		return nil, &HandlerError{Message: m.Error, Traceback: m.Traceback}
	default:
		return nil, fmt.Errorf("reading predictions: got message %q", m.Type)
	}
}

// Shutdown asks the worker to exit after the current batch.
func (c *Conn) Shutdown() error {
	c.c.SetWriteDeadline(time.Now().Add(time.Second))
	return WriteFrame(c.c, []byte(`{"type":"shutdown"}`))
}

// encodePredict builds the predict frame by hand so that the instances,
// already validated JSON, are copied rather than re-encoded.
func (c *Conn) encodePredict(id uint64, params json.RawMessage, instances []json.RawMessage) {
	b := &c.buf
	b.Reset()
	b.WriteString(`{"type":"predict","id":`)
	b.WriteString(strconv.FormatUint(id, 10))
	b.WriteString(`,"parameters":`)
	if len(params) == 0 {
		b.WriteString("{}")
	} else {
		b.Write(params)
	}
	b.WriteString(`,"instances":[`)
	for i, in := range instances {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(in)
	}
	b.WriteString("]}")
}

func (c *Conn) read(ctx context.Context) (Message, error) {
	var m Message
	if dl, ok := ctx.Deadline(); ok {
		c.c.SetReadDeadline(dl)
	} else {
		c.c.SetReadDeadline(time.Time{})
	}
	payload, err := ReadFrame(c.r)
	if err != nil {
		return m, c.ctxErr(ctx, err)
	}
	if err := json.Unmarshal(payload, &m); err != nil {
		return m, fmt.Errorf("decoding worker message: %w", err)
	}
	return m, nil
}

// ctxErr reports a timeout caused by ctx's deadline or cancellation as
// ctx's error. The read deadline may fire a moment before ctx notices.
func (c *Conn) ctxErr(ctx context.Context, err error) error {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return err
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}
