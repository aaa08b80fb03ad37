package protocol_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/protocol"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	for _, p := range []string{`{"type":"ready"}`, ``, `{"x":"` + string(make([]byte, 100000)) + `"}`} {
		if err := protocol.WriteFrame(&buf, []byte(p)); err != nil {
			t.Fatal(err)
		}
		got, err := protocol.ReadFrame(&buf)
		if err != nil || string(got) != p {
			t.Fatalf("ReadFrame = %d bytes, %v; want %d bytes", len(got), err, len(p))
		}
	}
	if _, err := protocol.ReadFrame(&buf); err != io.EOF {
		t.Errorf("ReadFrame at end = %v, want io.EOF", err)
	}
}

func TestReadFrameRejectsBadInput(t *testing.T) {
	huge := binary.BigEndian.AppendUint32(nil, protocol.MaxFrameSize+1)
	if _, err := protocol.ReadFrame(bytes.NewReader(huge)); !errors.Is(err, protocol.ErrFrameTooLarge) {
		t.Errorf("ReadFrame(huge length) = %v, want ErrFrameTooLarge", err)
	}
	short := append(binary.BigEndian.AppendUint32(nil, 10), "abc"...)
	if _, err := protocol.ReadFrame(bytes.NewReader(short)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadFrame(truncated) = %v, want io.ErrUnexpectedEOF", err)
	}
}

// fakeWorker answers on the far end of a pipe with scripted replies.
func fakeWorker(t *testing.T, c net.Conn, replies ...func(req map[string]any) string) {
	t.Helper()
	go func() {
		defer c.Close()
		protocol.WriteFrame(c, []byte(`{"type":"hello","protocol":3,"pid":42,"python":"3.8.0"}`))
		protocol.WriteFrame(c, []byte(`{"type":"ready","generate":true}`))
		for _, reply := range replies {
			b, err := protocol.ReadFrame(c)
			if err != nil {
				return
			}
			var req map[string]any
			json.Unmarshal(b, &req)
			protocol.WriteFrame(c, []byte(reply(req)))
		}
	}()
}

func TestConnPredict(t *testing.T) {
	a, b := net.Pipe()
	var seen map[string]any
	fakeWorker(t, b,
		func(req map[string]any) string {
			seen = req
			return `{"type":"result","id":1,"predictions":[{"label":"x"},2]}`
		},
		func(req map[string]any) string {
			return `{"type":"error","id":2,"error":"ValueError: nope","traceback":"tb"}`
		},
		func(req map[string]any) string { return `{"type":"result","id":3,"predictions":[1]}` },
	)
	c := protocol.NewConn(a)
	defer c.Close()
	ctx := context.Background()
	hello, err := c.Hello(ctx)
	if err != nil || hello.PID != 42 {
		t.Fatalf("Hello = %+v, %v", hello, err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	c.Start()
	got, err := c.Predict(ctx, json.RawMessage(`{"k":1}`), []json.RawMessage{json.RawMessage(`"a"`), json.RawMessage(`[1]`)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]json.RawMessage{json.RawMessage(`{"label":"x"}`), json.RawMessage(`2`)}, got); diff != "" {
		t.Errorf("predictions (-want +got):\n%s", diff)
	}
	wantReq := map[string]any{"type": "predict", "id": 1.0, "parameters": map[string]any{"k": 1.0}, "instances": []any{"a", []any{1.0}}}
	if diff := cmp.Diff(wantReq, seen); diff != "" {
		t.Errorf("predict frame (-want +got):\n%s", diff)
	}
	_, err = c.Predict(ctx, nil, []json.RawMessage{json.RawMessage(`1`)})
	var herr *protocol.HandlerError
	if !errors.As(err, &herr) || herr.Message != "ValueError: nope" || herr.Traceback != "tb" {
		t.Errorf("Predict with a handler error = %v, want *HandlerError", err)
	}
	_, err = c.Predict(ctx, nil, []json.RawMessage{json.RawMessage(`1`), json.RawMessage(`2`)})
	if !errors.As(err, &herr) {
		t.Errorf("Predict with a short answer = %v, want *HandlerError", err)
	}
}

func TestConnPredictTimeout(t *testing.T) {
	a, b := net.Pipe()
	never := make(chan struct{})
	defer close(never)
	fakeWorker(t, b, func(map[string]any) string { <-never; return "" })
	c := protocol.NewConn(a)
	defer c.Close()
	c.Hello(context.Background())
	c.WaitReady(context.Background())
	c.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Predict(ctx, nil, []json.RawMessage{json.RawMessage(`1`)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Predict past its deadline = %v, want DeadlineExceeded", err)
	}
}

func TestHelloRejectsOtherProtocol(t *testing.T) {
	a, b := net.Pipe()
	go func() { protocol.WriteFrame(b, []byte(`{"type":"hello","protocol":1}`)); b.Close() }()
	if _, err := protocol.NewConn(a).Hello(context.Background()); err == nil {
		t.Error("Hello with protocol 1 = nil error")
	}
}

// Pieces of two interleaved streams reach their own stream in order; a
// cancel is sent for a stream closed early; a batch answer in between is
// matched by id.
func TestConnStreams(t *testing.T) {
	a, b := net.Pipe()
	gotCancel := make(chan string, 1)
	go func() {
		defer b.Close()
		protocol.WriteFrame(b, []byte(`{"type":"hello","protocol":3}`))
		protocol.WriteFrame(b, []byte(`{"type":"ready","generate":true}`))
		for range 3 { // generate 1, generate 2, predict 3
			if _, err := protocol.ReadFrame(b); err != nil {
				return
			}
		}
		for _, f := range []string{
			`{"type":"piece","id":1,"data":"a"}`, `{"type":"piece","id":2,"data":{"text":"x"}}`,
			`{"type":"result","id":3,"predictions":[7]}`,
			`{"type":"piece","id":1,"data":"b"}`, `{"type":"end","id":1}`,
		} {
			protocol.WriteFrame(b, []byte(f))
		}
		f, _ := protocol.ReadFrame(b)
		gotCancel <- string(f)
		protocol.WriteFrame(b, []byte(`{"type":"end","id":2,"cancelled":true}`))
	}()
	c := protocol.NewConn(a)
	defer c.Close()
	ctx := context.Background()
	c.Hello(ctx)
	must(t, c.WaitReady(ctx))
	if !c.CanGenerate() {
		t.Error("CanGenerate = false after a ready with generate")
	}
	c.Start()
	s1, err := c.Stream(nil, json.RawMessage(`{"prompt":"p"}`))
	must(t, err)
	s2, err := c.Stream(json.RawMessage(`{"max_tokens":2}`), json.RawMessage(`"q"`))
	must(t, err)
	preds, err := c.Predict(ctx, nil, []json.RawMessage{json.RawMessage(`1`)})
	if err != nil || string(preds[0]) != "7" {
		t.Errorf("Predict between streams = %s, %v", preds, err)
	}
	var got []string
	for {
		p, err := s1.Next(ctx)
		if err == io.EOF {
			break
		}
		must(t, err)
		got = append(got, string(p))
	}
	if diff := cmp.Diff([]string{`"a"`, `"b"`}, got); diff != "" {
		t.Errorf("stream 1 pieces (-want +got):\n%s", diff)
	}
	if p, err := s2.Next(ctx); err != nil || string(p) != `{"text":"x"}` {
		t.Errorf("stream 2 first piece = %s, %v", p, err)
	}
	s2.Close()
	if f := <-gotCancel; f != `{"type":"cancel","id":2}` {
		t.Errorf("frame after Close = %s, want a cancel for id 2", f)
	}
	select {
	case <-s2.Ended():
	case <-time.After(10 * time.Second):
		t.Fatal("stream 2 not ended after the worker's end frame")
	}
	if _, err := s2.Next(ctx); err != io.EOF {
		t.Errorf("Next after cancel = %v, want io.EOF", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := protocol.ReadFrame(bytes.NewReader(b))
		if err == nil && (len(b) < 4 || int(binary.BigEndian.Uint32(b)) != len(p)) {
			t.Fatalf("ReadFrame(%x) = %d bytes", b, len(p))
		}
	})
}

// The fast path for piece frames decodes what json.Unmarshal decodes, and
// leaves every other shape to it.
func FuzzPieceFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"piece","id":7,"data":"hi"}`, `{"type":"piece","id":7,"data":{"text":"}"}}`,
		`{"type":"piece","id":7,"data":"x","extra":1}`, `{"type":"piece","id":,"data":1}`,
		`{"type":"piece","id":99999999999999999999999,"data":1}`, `{"type":"piece","id":1,"data":}`,
		`{"type":"piece","id":1,"data":"a"}}`, `{"type":"end","id":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want protocol.Message
		if err := json.Unmarshal(b, &want); err != nil || want.Type != protocol.TypePiece {
			return
		}
		got, ok := protocol.ParsePieceForTest(b)
		if !ok {
			return
		}
		if got.ID != want.ID || !bytes.Equal(compact(got.Data), compact(want.Data)) {
			t.Errorf("fast path = %d %s, json.Unmarshal = %d %s", got.ID, got.Data, want.ID, want.Data)
		}
	})
}

func compact(b []byte) []byte {
	var out bytes.Buffer
	json.Compact(&out, b)
	return out.Bytes()
}

// A worker that sends more than a stream's window without waiting for the
// sidecar's acks breaks the protocol: the connection ends with an error
// rather than the sidecar queueing whatever it sends.
func TestStreamWindowOverrunEndsConnection(t *testing.T) {
	a, b := net.Pipe()
	go func() {
		defer b.Close()
		protocol.WriteFrame(b, []byte(`{"type":"hello","protocol":3}`))
		protocol.WriteFrame(b, []byte(`{"type":"ready","generate":true}`))
		f, err := protocol.ReadFrame(b)
		if err != nil || !bytes.Contains(f, []byte(`"window":262144`)) {
			t.Errorf("generate frame %s, %v: want the window", f, err)
			return
		}
		piece := []byte(`{"type":"piece","id":1,"data":"` + strings.Repeat("x", 64<<10) + `"}`)
		for range 5 { // 320 KiB, past the 256 KiB window
			if protocol.WriteFrame(b, piece) != nil {
				return
			}
		}
		io.Copy(io.Discard, b)
	}()
	c := protocol.NewConn(a)
	defer c.Close()
	ctx := context.Background()
	c.Hello(ctx)
	must(t, c.WaitReady(ctx))
	c.Start()
	s, err := c.Stream(nil, json.RawMessage(`{"prompt":"p"}`))
	must(t, err)
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the connection survived a worker sending past the window")
	}
	if err := c.Err(); err == nil || !strings.Contains(err.Error(), "past its window") {
		t.Errorf("connection error = %v, want one about the window", err)
	}
	var n int
	for {
		if _, err := s.Next(ctx); err != nil {
			break
		}
		n++
	}
	if n > 4 {
		t.Errorf("the stream delivered %d pieces of 64 KiB, more than its window holds", n)
	}
}

// Pieces taken are acked every half window, so a worker keeping to the
// window never waits on a client that keeps up.
func TestStreamAcksEveryHalfWindow(t *testing.T) {
	a, b := net.Pipe()
	acks := make(chan string, 16)
	go func() {
		defer b.Close()
		protocol.WriteFrame(b, []byte(`{"type":"hello","protocol":3}`))
		protocol.WriteFrame(b, []byte(`{"type":"ready","generate":true}`))
		if _, err := protocol.ReadFrame(b); err != nil {
			return
		}
		go func() {
			for {
				f, err := protocol.ReadFrame(b)
				if err != nil {
					close(acks)
					return
				}
				acks <- string(f)
			}
		}()
		piece := `{"type":"piece","id":1,"data":"` + strings.Repeat("x", 32<<10-33) + `"}` // 32 KiB frames
		for range 4 {
			protocol.WriteFrame(b, []byte(piece))
		}
		select { // the sidecar has taken half the window
		case f := <-acks:
			if f != `{"type":"ack","id":1,"bytes":131072}` {
				t.Errorf("frame after half a window taken = %s, want an ack of 131072 bytes", f)
			}
		case <-time.After(10 * time.Second):
			t.Error("no ack after half a window was taken")
			return
		}
		for range 4 {
			protocol.WriteFrame(b, []byte(piece))
		}
		protocol.WriteFrame(b, []byte(`{"type":"end","id":1}`))
	}()
	c := protocol.NewConn(a)
	defer c.Close()
	ctx := context.Background()
	c.Hello(ctx)
	must(t, c.WaitReady(ctx))
	c.Start()
	s, err := c.Stream(nil, json.RawMessage(`{"prompt":"p"}`))
	must(t, err)
	n := 0
	for {
		_, err := s.Next(ctx)
		if err == io.EOF {
			break
		}
		must(t, err)
		n++
	}
	if n != 8 {
		t.Errorf("got %d pieces, want 8", n)
	}
}
