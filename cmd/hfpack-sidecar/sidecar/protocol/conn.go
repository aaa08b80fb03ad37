package protocol

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
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
	TypeGenerate  = "generate"
	TypePiece     = "piece"
	TypeEnd       = "end"
	TypeCancel    = "cancel"
	TypeAck       = "ack"
	TypeWait      = "wait"
)

// StreamWindow is how many bytes of one generation's piece frames the
// worker may send before the sidecar has taken them (its window): a client
// that reads slowly makes the generator wait, never the sidecar's memory
// grow. A single piece larger than the window is sent alone.
const StreamWindow = 256 << 10

// Message is any frame the worker sends; fields unused by a type are empty.
type Message struct {
	Type        string            `json:"type"`
	ID          uint64            `json:"id,omitempty"`
	Protocol    int               `json:"protocol,omitempty"`
	PID         int               `json:"pid,omitempty"`
	Python      string            `json:"python,omitempty"`
	Generate    bool              `json:"generate,omitempty"` // ready: the handler defines generate()
	Error       string            `json:"error,omitempty"`
	Traceback   string            `json:"traceback,omitempty"`
	Predictions []json.RawMessage `json:"predictions,omitempty"`
	Data        json.RawMessage   `json:"data,omitempty"`      // piece: what the generator yielded
	Cancelled   bool              `json:"cancelled,omitempty"` // end: the generator was closed early

	// ready: seconds the worker took to import the handler and to run its load()
	ImportSeconds float64 `json:"import_seconds,omitempty"`
	LoadSeconds   float64 `json:"load_seconds,omitempty"`

	size int // bytes of the frame's payload, for a stream's window
}

// HandlerError is an exception raised by the user's handler, while loading
// (Load is true) or while predicting or generating. The connection stays
// usable after a predict-time HandlerError.
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

// ErrClosed is returned by calls on a Conn whose worker connection ended.
var ErrClosed = errors.New("worker connection closed")

// Conn is the sidecar's end of a worker connection. Hello and WaitReady are
// called first, from one goroutine; after Start, Predict and Stream may be
// called from any goroutine: answers are matched to requests by id. Any
// error other than a *HandlerError leaves the worker in an unknown state;
// close the Conn and restart the worker.
type Conn struct {
	c net.Conn
	r *bufio.Reader

	generate bool    // set by WaitReady
	ready    Message // the ready message, set by WaitReady

	wmu  sync.Mutex // serialises writes
	wbuf bytes.Buffer

	mu       sync.Mutex
	nextID   uint64
	calls    map[uint64]chan Message
	streams  map[uint64]*Stream
	err      error         // why the reader stopped
	abortErr error         // set by Abort
	done     chan struct{} // closed when the reader stops
}

// NewConn wraps an accepted worker connection.
func NewConn(c net.Conn) *Conn {
	return &Conn{
		c: c, r: bufio.NewReaderSize(c, 64<<10),
		calls: map[uint64]chan Message{}, streams: map[uint64]*Stream{}, done: make(chan struct{}),
	}
}

// Close closes the underlying connection.
func (c *Conn) Close() error { return c.c.Close() }

// Abort closes the connection because of err, which every pending and
// later call then reports (and Err returns).
func (c *Conn) Abort(err error) {
	c.mu.Lock()
	if c.abortErr == nil {
		c.abortErr = err
	}
	c.mu.Unlock()
	c.c.Close()
}

// Err returns why the connection ended, once Done is closed.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// LoadTimes returns the seconds the worker reported spending on importing
// the handler and on its load(), once WaitReady has returned.
func (c *Conn) LoadTimes() (importSecs, loadSecs float64) {
	return c.ready.ImportSeconds, c.ready.LoadSeconds
}

// CanGenerate reports whether the worker's handler defines generate().
func (c *Conn) CanGenerate() bool { return c.generate }

// Done is closed once the connection has ended (after Start).
func (c *Conn) Done() <-chan struct{} { return c.done }

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
		c.generate, c.ready = m.Generate, m
		return nil
	case TypeLoadError:
		return &HandlerError{Load: true, Message: m.Error, Traceback: m.Traceback}
	default:
		return fmt.Errorf("waiting for worker to load: got message %q", m.Type)
	}
}

// Start reads the worker's answers in a goroutine of its own until the
// connection ends. Call it once, after WaitReady.
func (c *Conn) Start() {
	c.c.SetReadDeadline(time.Time{})
	go c.readLoop()
}

func (c *Conn) readLoop() {
	var err error
	for {
		var payload []byte
		payload, err = ReadFrame(c.r)
		if err != nil {
			break
		}
		m, ok := parsePiece(payload)
		if !ok {
			if err = json.Unmarshal(payload, &m); err != nil {
				err = fmt.Errorf("decoding worker message: %w", err)
				break
			}
		}
		m.size = len(payload)
		if err = c.dispatch(m); err != nil {
			break
		}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		err = ErrClosed
	}
	// Nothing more will be read: writes blocked on a worker that stopped
	// reading (or broke the protocol) must fail rather than wait.
	c.c.Close()
	c.mu.Lock()
	if c.abortErr != nil {
		err = c.abortErr
	}
	c.err = err
	streams := c.streams
	c.streams = nil
	c.mu.Unlock()
	close(c.done)
	for _, s := range streams {
		s.push(Message{}, err)
	}
}

func (c *Conn) dispatch(m Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch m.Type {
	case TypeResult, TypeError:
		if ch, ok := c.calls[m.ID]; ok {
			delete(c.calls, m.ID)
			ch <- m
			return nil
		}
		if s, ok := c.streams[m.ID]; ok && m.Type == TypeError {
			delete(c.streams, m.ID)
			s.push(m, nil)
			return nil
		}
	case TypePiece, TypeEnd:
		if s, ok := c.streams[m.ID]; ok {
			if m.Type == TypeEnd {
				delete(c.streams, m.ID)
			} else if err := s.charge(m.size); err != nil {
				return err
			}
			s.push(m, nil)
			return nil
		}
	case TypeWait:
		if s, ok := c.streams[m.ID]; ok {
			s.wait()
		}
		return nil // a wait may cross the generation's end
	default:
		return fmt.Errorf("unexpected worker message %q", m.Type)
	}
	return fmt.Errorf("worker answered %q to unknown request %d", m.Type, m.ID)
}

// parsePiece decodes a piece frame as the worker writes it,
// {"type":"piece","id":N,"data":VALUE}, without reflection: pieces are the
// bulk of a stream's frames. VALUE was written by json.dumps, so it is valid
// JSON, but it is checked all the same. Any other shape reports false and
// goes through json.Unmarshal.
func parsePiece(p []byte) (Message, bool) {
	const head, mid = `{"type":"piece","id":`, `,"data":`
	if !bytes.HasPrefix(p, []byte(head)) || len(p) < len(head)+len(mid)+3 || p[len(p)-1] != '}' {
		return Message{}, false
	}
	rest := p[len(head):]
	i := 0
	for i < len(rest) && i < 20 && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	id, err := strconv.ParseUint(string(rest[:i]), 10, 64)
	if err != nil || !bytes.HasPrefix(rest[i:], []byte(mid)) {
		return Message{}, false
	}
	data := rest[i+len(mid) : len(rest)-1]
	if !json.Valid(data) { // also refuses a frame with keys after "data"
		return Message{}, false
	}
	return Message{Type: TypePiece, ID: id, Data: data}, true
}

// register reserves an id; it fails once the connection has ended.
func (c *Conn) register(s *Stream) (uint64, chan Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, nil, c.err
	}
	c.nextID++
	id := c.nextID
	if s != nil {
		s.id = id
		c.streams[id] = s
		return id, nil, nil
	}
	ch := make(chan Message, 1)
	c.calls[id] = ch
	return id, ch, nil
}

// Predict sends one batch and waits for its predictions, one per instance in
// order. params must be a JSON object or nil; each instance must be valid JSON.
// When ctx ends first, Predict returns ctx's error; the worker is still busy
// with the batch, so the caller should restart it.
func (c *Conn) Predict(ctx context.Context, params json.RawMessage, instances []json.RawMessage) ([]json.RawMessage, error) {
	id, ch, err := c.register(nil)
	if err != nil {
		return nil, fmt.Errorf("sending batch: %w", err)
	}
	if err := c.write(func(b *bytes.Buffer) { encodePredict(b, id, params, instances) }); err != nil {
		return nil, fmt.Errorf("sending batch: %w", err)
	}
	var m Message
	select {
	case m = <-ch:
	case <-c.done:
		select {
		case m = <-ch: // answered just before the connection ended
		default:
			return nil, fmt.Errorf("reading predictions: %w", c.err)
		}
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.calls, id)
		c.mu.Unlock()
		return nil, ctx.Err()
	}
	switch m.Type {
	case TypeResult:
		if len(m.Predictions) != len(instances) {
			return nil, &HandlerError{Message: fmt.Sprintf("handler returned %d predictions for %d instances", len(m.Predictions), len(instances))}
		}
		return m.Predictions, nil
	default:
		return nil, &HandlerError{Message: m.Error, Traceback: m.Traceback}
	}
}

// Stream asks the worker to run the handler's generate() on one instance.
// Read its pieces with Next; Close it when done.
func (c *Conn) Stream(params json.RawMessage, instance json.RawMessage) (*Stream, error) {
	s := &Stream{c: c, signal: make(chan struct{}, 1), ended: make(chan struct{})}
	id, _, err := c.register(s)
	if err != nil {
		return nil, fmt.Errorf("starting generation: %w", err)
	}
	err = c.write(func(b *bytes.Buffer) {
		b.WriteString(`{"type":"generate","id":`)
		b.WriteString(strconv.FormatUint(id, 10))
		b.WriteString(`,"window":`)
		b.WriteString(strconv.Itoa(StreamWindow))
		writeParams(b, params)
		b.WriteString(`,"instance":`)
		b.Write(instance)
		b.WriteByte('}')
	})
	if err != nil {
		return nil, fmt.Errorf("starting generation: %w", err)
	}
	return s, nil
}

// Shutdown asks the worker to exit after the current work.
func (c *Conn) Shutdown() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.c.SetWriteDeadline(time.Now().Add(time.Second))
	return WriteFrame(c.c, []byte(`{"type":"shutdown"}`))
}

// write encodes a frame with enc and sends it.
func (c *Conn) write(enc func(*bytes.Buffer)) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf.Reset()
	enc(&c.wbuf)
	return WriteFrame(c.c, c.wbuf.Bytes())
}

func writeParams(b *bytes.Buffer, params json.RawMessage) {
	b.WriteString(`,"parameters":`)
	if len(params) == 0 {
		b.WriteString("{}")
	} else {
		b.Write(params)
	}
}

// encodePredict builds the predict frame by hand so that the instances,
// already validated JSON, are copied rather than re-encoded.
func encodePredict(b *bytes.Buffer, id uint64, params json.RawMessage, instances []json.RawMessage) {
	b.WriteString(`{"type":"predict","id":`)
	b.WriteString(strconv.FormatUint(id, 10))
	writeParams(b, params)
	b.WriteString(`,"instances":[`)
	for i, in := range instances {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(in)
	}
	b.WriteString("]}")
}

// read reads one message synchronously; only before Start.
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
