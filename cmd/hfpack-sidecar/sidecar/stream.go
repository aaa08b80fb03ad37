package sidecar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/batch"
	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/protocol"
	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/worker"
)

// Generation requests: OpenAI chat-completions and completions bodies on the
// predict route and on /v1/chat/completions and /v1/completions, and Vertex
// predict bodies whose instances carry "@requestFormat": "chatCompletions".
// Each runs the handler's generate() on one instance in the worker.

// genKind is the OpenAI shape a generation answers in.
type genKind int

const (
	kindChat       genKind = iota // chat.completion(.chunk)
	kindCompletion                // text_completion
)

// genRequest is one decoded generation request.
type genRequest struct {
	kind         genKind
	model        string
	instance     json.RawMessage // {"messages": [...]} or {"prompt": "..."}
	params       json.RawMessage // generation parameters, a JSON object
	stream       bool
	includeUsage bool
}

// OpenAI body keys that are not generation parameters for the handler.
var notParams = map[string]bool{
	"model": true, "messages": true, "prompt": true, "stream": true, "stream_options": true,
	"n": true, "user": true, "@requestFormat": true,
}

// parseGenRequest decodes an OpenAI body (or one Vertex chatCompletions
// instance, with the request's parameters in base). Every key other than
// the prompt and the transport options reaches the handler as a parameter.
func parseGenRequest(body []byte, kind genKind, base json.RawMessage) (genRequest, error) {
	req := genRequest{kind: kind}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return req, badRequest("malformed JSON in request body: %v", err)
	}
	if m == nil {
		return req, badRequest("request body must be a JSON object")
	}
	switch kind {
	case kindChat:
		msgs := bytes.TrimSpace(m["messages"])
		var list []struct {
			Role *string `json:"role"`
		}
		if len(msgs) == 0 || msgs[0] != '[' || json.Unmarshal(msgs, &list) != nil || len(list) == 0 {
			return req, badRequest(`"messages" must be a non-empty array of {"role", "content"} objects`)
		}
		for i, msg := range list {
			if msg.Role == nil {
				return req, badRequest(`"messages"[%d] has no "role"`, i)
			}
		}
		req.instance = append(append([]byte(`{"messages":`), msgs...), '}')
	case kindCompletion:
		p := bytes.TrimSpace(m["prompt"])
		var one []json.RawMessage
		if len(p) > 0 && p[0] == '[' && json.Unmarshal(p, &one) == nil && len(one) == 1 {
			p = one[0]
		}
		if len(p) == 0 || p[0] != '"' {
			return req, badRequest(`"prompt" must be a string`)
		}
		req.instance = append(append([]byte(`{"prompt":`), p...), '}')
	}
	if v, ok := m["model"]; ok && json.Unmarshal(v, &req.model) != nil {
		return req, badRequest(`"model" must be a string`)
	}
	if v, ok := m["stream"]; ok && json.Unmarshal(v, &req.stream) != nil {
		return req, badRequest(`"stream" must be true or false`)
	}
	if v, ok := m["stream_options"]; ok {
		var so struct {
			IncludeUsage bool `json:"include_usage"`
		}
		if json.Unmarshal(v, &so) != nil {
			return req, badRequest(`"stream_options" must be an object`)
		}
		req.includeUsage = so.IncludeUsage
	}
	if v, ok := m["n"]; ok && string(v) != "1" && string(v) != "null" {
		return req, badRequest(`"n" must be 1: one choice per request is served`)
	}
	params := map[string]json.RawMessage{}
	if len(base) > 0 {
		if err := json.Unmarshal(base, &params); err != nil {
			return req, badRequest(`"parameters" must be a JSON object`)
		}
	}
	for k, v := range m {
		params[k] = v
	}
	for k := range notParams {
		delete(params, k)
	}
	if v, ok := params["max_completion_tokens"]; ok {
		if _, has := params["max_tokens"]; !has {
			params["max_tokens"] = v
		}
		delete(params, "max_completion_tokens")
	}
	req.params, _ = json.Marshal(params) // sorted keys: same request, same bytes
	if req.model == "" {
		req.model = "hfpack"
	}
	return req, nil
}

// streamSlots bounds the generations running at once in the worker; excess
// requests wait, as many as the queue holds, then get ErrQueueFull.
type streamSlots struct {
	sem     chan struct{}
	waiting atomic.Int64
	maxWait int64
}

func newStreamSlots(n, maxWait int) *streamSlots {
	return &streamSlots{sem: make(chan struct{}, n), maxWait: int64(maxWait)}
}

func (s *streamSlots) acquire(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	default:
	}
	if s.waiting.Add(1) > s.maxWait {
		s.waiting.Add(-1)
		return batch.ErrQueueFull
	}
	defer s.waiting.Add(-1)
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *streamSlots) release() { <-s.sem }

// startGeneration waits for a slot and starts instance's generation. The
// returned finish closes the generator if it still runs and frees the slot
// once the worker has let go of it.
func (s *Sidecar) startGeneration(ctx context.Context, params, instance json.RawMessage) (*protocol.Stream, func(), error) {
	if st, ok := s.serving(); !ok {
		return nil, nil, errNotReady{st}
	}
	if !s.sup.CanGenerate() {
		return nil, nil, worker.ErrNoGenerate
	}
	if err := s.streams.acquire(ctx); err != nil {
		return nil, nil, err
	}
	st, err := s.sup.Stream(params, instance)
	if err != nil {
		s.streams.release()
		return nil, nil, err
	}
	s.metrics.streamsRunning.Inc()
	finish := func() {
		st.Close()
		go func() {
			select {
			case <-st.Ended():
			case <-time.After(s.opts.grace):
				// A generator that never yields again never sees its
				// cancellation: like a hung batch, its worker must go.
				err := fmt.Errorf("a generation did not close within %v of its cancellation; restarting the worker", s.opts.grace)
				s.log.Error("generation stuck", "error", err.Error())
				st.Abort(err)
				<-st.Ended()
			}
			s.metrics.streamsRunning.Dec()
			s.streams.release()
		}()
	}
	return st, finish, nil
}

type errNotReady struct{ st worker.Status }

func (e errNotReady) Error() string {
	msg := "model not ready: " + e.st.Reason
	if e.st.LastError != "" && !strings.Contains(e.st.Reason, e.st.LastError) {
		msg += " (last error: " + e.st.LastError + ")"
	}
	return msg
}

// genError answers an error that happened before the first byte.
func (s *Sidecar) genError(w http.ResponseWriter, r *http.Request, err error) int {
	var nr errNotReady
	switch {
	case errors.As(err, &nr):
		w.Header().Set("Retry-After", "1")
		return writeError(w, http.StatusServiceUnavailable, nr.Error(), "")
	case errors.Is(err, worker.ErrNoGenerate):
		return writeError(w, http.StatusNotImplemented, "this model's handler defines no generate(): chat and completion requests need one (see the README's handler contract)", "")
	case errors.Is(err, batch.ErrQueueFull):
		w.Header().Set("Retry-After", "1")
		return writeError(w, http.StatusTooManyRequests, "too many generations running and queued; retry later", "")
	case r.Context().Err() != nil:
		return statusClientClosed
	case errors.Is(err, context.DeadlineExceeded):
		return writeError(w, http.StatusGatewayTimeout, "generation did not finish within "+s.cfg.StreamTimeout.D().String(), "")
	}
	return s.predictError(w, r, err)
}

// piece is what one yielded value contributes to the answer.
type piece struct {
	text   json.RawMessage // a JSON string, or nil
	finish string
	usage  *usage
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// parsePiece reads a yielded value: a string, or an object with any of
// "text", "finish_reason" and "usage".
func parsePiece(raw json.RawMessage) (piece, error) {
	if len(raw) > 0 && raw[0] == '"' {
		return piece{text: raw}, nil
	}
	var p struct {
		Text         json.RawMessage `json:"text"`
		FinishReason string          `json:"finish_reason"`
		Usage        *usage          `json:"usage"`
	}
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &p) != nil || len(p.Text) > 0 && p.Text[0] != '"' {
		return piece{}, errors.New("generate() yielded " + truncate(string(raw), 80) + `: want a string or {"text": "...", "finish_reason": ..., "usage": ...}`)
	}
	if p.Usage != nil {
		p.Usage.TotalTokens = p.Usage.PromptTokens + p.Usage.CompletionTokens
	}
	return piece{text: p.Text, finish: p.FinishReason, usage: p.Usage}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// answer accumulates a generation's end state.
type answer struct {
	pieces int
	finish string
	usage  *usage
}

func (a *answer) add(p piece) {
	if p.text != nil {
		a.pieces++
	}
	if p.finish != "" {
		a.finish = p.finish
	}
	if p.usage != nil {
		a.usage = p.usage
	}
}

func (a *answer) finishReason() string {
	if a.finish == "" {
		return "stop"
	}
	return a.finish
}

// counts returns the handler's usage, or the pieces counted as tokens.
func (a *answer) counts() usage {
	if a.usage != nil {
		return *a.usage
	}
	return usage{CompletionTokens: a.pieces, TotalTokens: a.pieces}
}

func newID(kind genKind) string {
	p := "chatcmpl-"
	if kind == kindCompletion {
		p = "cmpl-"
	}
	return p + strconv.FormatUint(rand.Uint64(), 36) + strconv.FormatUint(rand.Uint64(), 36)
}

// serveGeneration answers one OpenAI-shaped request, streamed or not.
func (s *Sidecar) serveGeneration(w http.ResponseWriter, r *http.Request, req genRequest) int {
	// A generation may outlive the server's read timeout, which would
	// otherwise cancel the request when it fires mid-stream.
	http.NewResponseController(w).SetReadDeadline(time.Time{})
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StreamTimeout.D())
	defer cancel()
	if !req.stream {
		b, err := s.complete(ctx, req)
		if err != nil {
			return s.genError(w, r, err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", itoa(int64(len(b))))
		w.WriteHeader(http.StatusOK)
		w.Write(b)
		return http.StatusOK
	}
	st, finish, err := s.startGeneration(ctx, req.params, req.instance)
	if err != nil {
		return s.genError(w, r, err)
	}
	defer finish()
	raw, err := st.Next(ctx)
	if err != nil && err != io.EOF {
		return s.genError(w, r, err)
	}
	sse := newSSEWriter(w, req)
	var ans answer
	for err == nil {
		p, perr := parsePiece(raw)
		if perr != nil {
			sse.error(perr.Error())
			return http.StatusOK
		}
		ans.add(p)
		if p.text != nil {
			sse.piece(p.text)
		}
		raw, err = st.Next(ctx)
	}
	if err != io.EOF {
		if r.Context().Err() != nil {
			s.log.Debug("client left mid-stream; generation cancelled")
			return statusClientClosed
		}
		msg := s.streamErrorMessage(err)
		sse.error(msg)
		s.log.Warn("generation failed mid-stream", "error", msg)
		return http.StatusOK
	}
	sse.end(ans.finishReason())
	if req.includeUsage {
		sse.usage(ans.counts())
	}
	sse.done()
	return http.StatusOK
}

func (s *Sidecar) streamErrorMessage(err error) string {
	var herr *protocol.HandlerError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "generation did not finish within " + s.cfg.StreamTimeout.D().String()
	case errors.As(err, &herr):
		s.log.Warn("handler error", "error", herr.Message, "traceback", herr.Traceback)
		if s.cfg.Debug {
			return herr.Error() + "\n" + herr.Traceback
		}
		return herr.Error()
	default:
		return err.Error()
	}
}

// complete runs a generation to its end and returns the OpenAI object.
func (s *Sidecar) complete(ctx context.Context, req genRequest) ([]byte, error) {
	st, finish, err := s.startGeneration(ctx, req.params, req.instance)
	if err != nil {
		return nil, err
	}
	defer finish()
	var text strings.Builder
	var ans answer
	for {
		raw, err := st.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		p, err := parsePiece(raw)
		if err != nil {
			return nil, &protocol.HandlerError{Message: err.Error()}
		}
		ans.add(p)
		if p.text != nil {
			var t string
			json.Unmarshal(p.text, &t)
			text.WriteString(t)
		}
	}
	type message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	type choice struct {
		Index        int      `json:"index"`
		Message      *message `json:"message,omitempty"`
		Text         *string  `json:"text,omitempty"`
		Logprobs     any      `json:"logprobs"`
		FinishReason string   `json:"finish_reason"`
	}
	out := struct {
		ID      string   `json:"id"`
		Object  string   `json:"object"`
		Created int64    `json:"created"`
		Model   string   `json:"model"`
		Choices []choice `json:"choices"`
		Usage   usage    `json:"usage"`
	}{ID: newID(req.kind), Created: time.Now().Unix(), Model: req.model, Usage: ans.counts()}
	c := choice{FinishReason: ans.finishReason()}
	t := text.String()
	if req.kind == kindChat {
		out.Object = "chat.completion"
		c.Message = &message{Role: "assistant", Content: t}
	} else {
		out.Object = "text_completion"
		c.Text = &t
	}
	out.Choices = []choice{c}
	return json.Marshal(out)
}

// sseWriter writes OpenAI stream events, flushing each. The first event
// goes out with the first piece, so that errors before it are plain JSON
// answers and nothing waits in a buffer.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	kind    genKind
	head    []byte // `data: {"id":...,"choices":[{"index":0,`
	started bool
	buf     []byte
}

func newSSEWriter(w http.ResponseWriter, req genRequest) *sseWriter {
	id := newID(req.kind)
	model, _ := json.Marshal(req.model)
	object := "chat.completion.chunk"
	if req.kind == kindCompletion {
		object = "text_completion"
	}
	head := `data: {"id":"` + id + `","object":"` + object + `","created":` + strconv.FormatInt(time.Now().Unix(), 10) + `,"model":` + string(model) + `,"choices":[{"index":0,`
	return &sseWriter{w: w, rc: http.NewResponseController(w), kind: req.kind, head: []byte(head)}
}

func (s *sseWriter) start() {
	if s.started {
		return
	}
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
}

func (s *sseWriter) flush() {
	s.w.Write(s.buf)
	s.rc.Flush()
	s.buf = s.buf[:0]
}

// piece sends one yielded text, a JSON string.
func (s *sseWriter) piece(text json.RawMessage) {
	first := !s.started
	s.start()
	b := append(s.buf, s.head...)
	if s.kind == kindChat {
		b = append(b, `"delta":{`...)
		if first {
			b = append(b, `"role":"assistant",`...)
		}
		b = append(b, `"content":`...)
		b = append(b, text...)
		b = append(b, `},"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
	} else {
		b = append(b, `"text":`...)
		b = append(b, text...)
		b = append(b, `,"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
	}
	s.buf = b
	s.flush()
}

func (s *sseWriter) end(reason string) {
	first := !s.started
	s.start()
	r, _ := json.Marshal(reason)
	b := append(s.buf, s.head...)
	if s.kind == kindChat {
		if first {
			b = append(b, `"delta":{"role":"assistant","content":""}`...)
		} else {
			b = append(b, `"delta":{}`...)
		}
	} else {
		b = append(b, `"text":""`...)
	}
	b = append(b, `,"logprobs":null,"finish_reason":`...)
	b = append(b, r...)
	b = append(b, "}]}\n\n"...)
	s.buf = b
	s.flush()
}

func (s *sseWriter) usage(u usage) {
	ub, _ := json.Marshal(u)
	head := bytes.TrimSuffix(s.head, []byte(`{"index":0,`))
	b := append(s.buf, head...)
	b = append(b, `],"usage":`...)
	b = append(b, ub...)
	b = append(b, "}\n\n"...)
	s.buf = b
	s.flush()
}

func (s *sseWriter) done() {
	s.buf = append(s.buf, "data: [DONE]\n\n"...)
	s.flush()
}

// error ends a stream that has begun with an SSE error event.
func (s *sseWriter) error(msg string) {
	s.start()
	b, _ := json.Marshal(struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
	}{Error: struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	}{msg, "server_error"}})
	s.buf = append(append(append(s.buf, "event: error\ndata: "...), b...), "\n\n"...)
	s.flush()
}

// chatPredictions answers a Vertex predict body whose instances carry
// "@requestFormat": "chatCompletions": one chat.completion per instance,
// generated concurrently.
func (s *Sidecar) chatPredictions(w http.ResponseWriter, r *http.Request, req predictRequest) int {
	http.NewResponseController(w).SetReadDeadline(time.Time{})
	reqs := make([]genRequest, len(req.Instances))
	for i, in := range req.Instances {
		g, err := parseGenRequest(in, kindChat, req.Parameters)
		if err != nil {
			var re *requestError
			errors.As(err, &re)
			return writeError(w, http.StatusBadRequest, "instance "+strconv.Itoa(i)+": "+re.msg, "")
		}
		reqs[i] = g
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StreamTimeout.D())
	defer cancel()
	preds := make([]json.RawMessage, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			preds[i], errs[i] = s.complete(ctx, reqs[i])
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return s.genError(w, r, err)
		}
	}
	for _, err := range errs {
		if err != nil {
			return s.genError(w, r, err)
		}
	}
	return writePredictions(w, preds)
}

// chatFormat reports whether the instances ask for chat completions
// ("@requestFormat": "chatCompletions"); mixing them with others is an error.
func chatFormat(instances []json.RawMessage) (bool, error) {
	n := 0
	for _, in := range instances {
		if len(in) == 0 || in[0] != '{' || !bytes.Contains(in, []byte(`"@requestFormat"`)) {
			continue
		}
		var f struct {
			Format string `json:"@requestFormat"`
		}
		if json.Unmarshal(in, &f) != nil {
			continue
		}
		if f.Format != "chatCompletions" {
			return false, badRequest(`"@requestFormat" %q is not served: use "chatCompletions"`, f.Format)
		}
		n++
	}
	if n > 0 && n != len(instances) {
		return false, badRequest(`every instance of a request must have "@requestFormat": "chatCompletions", or none`)
	}
	return n > 0, nil
}
