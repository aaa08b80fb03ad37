package sidecar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/batch"
	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/protocol"
	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/worker"
	"github.com/hfpack/hfpack/imagespec"
)

// statusClientClosed is logged (never sent) when the client went away.
const statusClientClosed = 499

// routes maps exact paths to handlers. Vertex's routes contain ':' and
// arbitrary IDs, so they are matched literally rather than as mux patterns.
func (s *Sidecar) routes() http.Handler {
	health := http.HandlerFunc(s.serveHealth)
	predict := http.HandlerFunc(s.servePredict)
	m := map[string]http.Handler{}
	add := func(route string, h http.Handler) {
		if _, ok := m[route]; route != "" && !ok {
			m[route] = h
		}
	}
	add(imagespec.HealthRoute, health)
	add(s.cfg.HealthRoute, health)
	add(imagespec.PredictRoute, predict)
	add(s.cfg.PredictRoute, predict)
	add("/v1/chat/completions", s.generationRoute(kindChat))
	add("/v1/completions", s.generationRoute(kindCompletion))
	if s.cfg.MetricsPort == 0 && s.cfg.MetricsPath != "-" {
		add(s.cfg.MetricsPath, s.metrics.handler())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := m[r.URL.Path]; ok {
			h.ServeHTTP(w, r)
			return
		}
		writeError(w, http.StatusNotFound, "no route "+r.URL.Path+"; use /predict or /health", "")
	})
}

func (s *Sidecar) serveHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "health accepts GET", "")
		return
	}
	st := s.status()
	code := http.StatusOK
	if !st.Ready() {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, st)
}

func (s *Sidecar) servePredict(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code, n := s.predict(w, r)
	d := time.Since(start)
	s.metrics.observeRequest(code, d)
	s.log.Debug("predict", "status", code, "instances", n, "seconds", d.Seconds())
}

// generationRoute serves /v1/chat/completions or /v1/completions.
func (s *Sidecar) generationRoute(kind genKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		code := s.generation(w, r, kind)
		d := time.Since(start)
		s.metrics.observeRequest(code, d)
		s.log.Debug("generation", "path", r.URL.Path, "status", code, "seconds", d.Seconds())
	}
}

func (s *Sidecar) generation(w http.ResponseWriter, r *http.Request, kind genKind) int {
	body, code := s.readBody(w, r)
	if code != 0 {
		return code
	}
	req, err := parseGenRequest(body, kind, nil)
	if err != nil {
		return writeRequestError(w, err)
	}
	return s.serveGeneration(w, r, req)
}

// readBody checks method and content type and reads a JSON body within
// the limits; a non-zero code means the answer has been written.
func (s *Sidecar) readBody(w http.ResponseWriter, r *http.Request) ([]byte, int) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		return nil, writeError(w, http.StatusMethodNotAllowed, r.URL.Path+" accepts POST", "")
	}
	if !jsonContentType(r.Header.Get("Content-Type")) {
		return nil, writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json", "")
	}
	limit := s.cfg.MaxRequestBytes
	if r.ContentLength > limit {
		return nil, tooLarge(w, r, r.Body, limit)
	}
	orig := r.Body
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(w, r, orig, limit)
		}
		return nil, writeError(w, http.StatusBadRequest, "reading request body: "+err.Error(), "")
	}
	if !utf8.Valid(body) {
		return nil, writeError(w, http.StatusBadRequest, "request body is not valid UTF-8", "")
	}
	if d := jsonDepth(body); d > s.cfg.MaxJSONDepth {
		return nil, writeError(w, http.StatusBadRequest, "request body nests deeper than "+itoa(int64(s.cfg.MaxJSONDepth))+" levels", "")
	}
	return body, 0
}

func writeRequestError(w http.ResponseWriter, err error) int {
	var re *requestError
	if errors.As(err, &re) {
		return writeError(w, re.status, re.msg, "")
	}
	return writeError(w, http.StatusBadRequest, err.Error(), "")
}

// openAIKind reports whether a predict-route body is an OpenAI chat or
// completions body rather than {"instances": [...]}.
func openAIKind(body []byte) (genKind, bool) {
	var top struct {
		Instances json.RawMessage `json:"instances"`
		Messages  json.RawMessage `json:"messages"`
		Prompt    json.RawMessage `json:"prompt"`
	}
	if json.Unmarshal(body, &top) != nil || top.Instances != nil {
		return 0, false
	}
	switch {
	case top.Messages != nil:
		return kindChat, true
	case top.Prompt != nil:
		return kindCompletion, true
	}
	return 0, false
}

// predict answers one prediction request and returns its status code and
// instance count.
func (s *Sidecar) predict(w http.ResponseWriter, r *http.Request) (int, int) {
	body, code := s.readBody(w, r)
	if code != 0 {
		return code, 0
	}
	if kind, ok := openAIKind(body); ok {
		req, err := parseGenRequest(body, kind, nil)
		if err != nil {
			return writeRequestError(w, err), 0
		}
		return s.serveGeneration(w, r, req), 1
	}
	req, err := decodeRequest(body, s.cfg.MaxJSONDepth)
	if err != nil {
		return writeRequestError(w, err), 0
	}
	n := len(req.Instances)
	chat, err := chatFormat(req.Instances)
	if err != nil {
		return writeRequestError(w, err), n
	}
	if chat {
		return s.chatPredictions(w, r, req), n
	}
	if st, ok := s.serving(); !ok {
		w.Header().Set("Retry-After", "1")
		msg := "model not ready: " + st.Reason
		if st.LastError != "" && !strings.Contains(st.Reason, st.LastError) {
			msg += " (last error: " + st.LastError + ")"
		}
		return writeError(w, http.StatusServiceUnavailable, msg, ""), n
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout.D())
	defer cancel()
	preds, err := s.batcher.Submit(ctx, req.Parameters, req.Instances)
	if err != nil {
		return s.predictError(w, r, err), n
	}
	return writePredictions(w, preds), n
}

func (s *Sidecar) predictError(w http.ResponseWriter, r *http.Request, err error) int {
	var herr *protocol.HandlerError
	switch {
	case errors.Is(err, batch.ErrQueueFull):
		w.Header().Set("Retry-After", "1")
		return writeError(w, http.StatusTooManyRequests, "too many requests queued; retry later", "")
	case errors.Is(err, batch.ErrClosed):
		return writeError(w, http.StatusServiceUnavailable, "sidecar shutting down", "")
	case r.Context().Err() != nil:
		return statusClientClosed
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, worker.ErrHung):
		return writeError(w, http.StatusGatewayTimeout, "prediction did not finish within "+s.cfg.RequestTimeout.D().String(), "")
	case errors.As(err, &herr):
		tb := ""
		if s.cfg.Debug {
			tb = herr.Traceback
		}
		s.log.Warn("handler error", "error", herr.Message, "traceback", herr.Traceback)
		return writeError(w, http.StatusInternalServerError, herr.Error(), tb)
	default:
		s.log.Error("prediction failed", "error", err.Error())
		return writeError(w, http.StatusInternalServerError, err.Error(), "")
	}
}

// Bounds on draining an oversized body after its 413.
const (
	drainBytes = 64 << 20
	drainTime  = 10 * time.Second
)

// tooLarge answers 413 and closes the connection, after reading and
// discarding what the client still sends (up to drainBytes, for at most
// drainTime). A client that writes its whole body before reading the answer
// (curl, Python's http.client, most SDKs) would otherwise see its write fail
// with a broken pipe or reset, and never read the 413: closing a socket with
// unread data makes the kernel send RST, which also discards the answer.
func tooLarge(w http.ResponseWriter, r *http.Request, body io.Reader, limit int64) int {
	w.Header().Set("Connection", "close")
	code := writeError(w, http.StatusRequestEntityTooLarge, "request body exceeds "+itoa(limit)+" bytes", "")
	rc := http.NewResponseController(w)
	rc.Flush()
	rc.SetReadDeadline(time.Now().Add(drainTime))
	io.CopyN(io.Discard, body, drainBytes)
	return code
}

// jsonContentType accepts application/json, any +json type, and no type at all.
func jsonContentType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

// writePredictions writes {"predictions": [...]} copying each prediction's
// bytes, already validated JSON from the worker.
func writePredictions(w http.ResponseWriter, preds []json.RawMessage) int {
	size := len(`{"predictions":[]}`) + len(preds)
	for _, p := range preds {
		size += len(p)
	}
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString(`{"predictions":[`)
	for i, p := range preds {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(p)
	}
	b.WriteString("]}")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", itoa(int64(b.Len())))
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
	return http.StatusOK
}

// writeError writes {"error": msg} (and the traceback when given).
func writeError(w http.ResponseWriter, code int, msg, traceback string) int {
	writeJSON(w, code, struct {
		Error     string `json:"error"`
		Traceback string `json:"traceback,omitempty"`
	}{msg, traceback})
	return code
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}
