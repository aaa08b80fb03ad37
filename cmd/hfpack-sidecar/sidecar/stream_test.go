package sidecar_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar"
)

// genHandler is a stand-in generator handler, stdlib only. Its parameters
// steer it: "pieces" (default 5), "sleep" seconds between pieces, "gate" (a
// directory: piece i waits for the file gate/i, or gate/all), "mark" (a
// directory: it records each yield and the generator's close there),
// "raise_at" (raise before that piece; 0 raises before any).
const genHandler = `
import os, time

def load(model_dir):
    return "state"

def predict(state, instances, parameters):
    return [{"echo": x} for x in instances]

def _touch(d, name):
    if d:
        open(os.path.join(d, name), "w").close()

def generate(state, instance, parameters):
    n = parameters.get("pieces", 5)
    gate, mark = parameters.get("gate"), parameters.get("mark")
    if "messages" in instance:
        prompt = instance["messages"][-1]["content"]
    else:
        prompt = instance["prompt"]
    try:
        for i in range(n):
            if gate:
                while not (os.path.exists(os.path.join(gate, str(i))) or os.path.exists(os.path.join(gate, "all"))):
                    time.sleep(0.002)
            if parameters.get("sleep") and i > 0:
                time.sleep(parameters["sleep"])
            if parameters.get("raise_at") == i:
                raise RuntimeError("broke at piece %d" % i)
            _touch(mark, "yield-%d" % i)
            yield "%s-%d " % (prompt, i)
        yield {"finish_reason": "length", "usage": {"prompt_tokens": 3, "completion_tokens": n}}
    finally:
        _touch(mark, "closed")
`

func genConfig(t *testing.T) sidecar.Config {
	cfg := testConfig(t, genHandler)
	cfg.MaxConcurrentStreams = 4
	return cfg
}

// event is one server-sent event.
type event struct {
	name string // "" for a plain data event
	data string
}

// sseReader reads events off a text/event-stream body.
type sseReader struct{ r *bufio.Reader }

func (s sseReader) next() (event, error) {
	var ev event
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			return ev, nil
		case strings.HasPrefix(line, "event: "):
			ev.name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			ev.data += line[len("data: "):]
		default:
			return ev, fmt.Errorf("unexpected SSE line %q", line)
		}
	}
}

// chunk is the part of a chat.completion.chunk the tests look at.
type chunk struct {
	Object  string
	Choices []struct {
		Delta struct {
			Role    string
			Content *string
		}
		FinishReason *string `json:"finish_reason"`
	}
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	}
}

func (h *harness) openStream(ctx context.Context, path, body string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return h.client.Do(req)
}

func chatBody(prompt, params string, stream bool) string {
	b := fmt.Sprintf(`{"model":"m","messages":[{"role":"user","content":%q}],"stream":%v`, prompt, stream)
	if params != "" {
		b += "," + params
	}
	return b + "}"
}

// readStream reads a whole chat stream and returns its content pieces, the
// finish reason and the events after the last chunk.
func readStream(t *testing.T, body io.Reader) (pieces []string, finish string, tail []event) {
	t.Helper()
	r := sseReader{bufio.NewReader(body)}
	for {
		ev, err := r.next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("reading stream: %v", err)
		}
		if ev.name != "" || ev.data == "[DONE]" {
			tail = append(tail, ev)
			continue
		}
		var c chunk
		if err := json.Unmarshal([]byte(ev.data), &c); err != nil || c.Object != "chat.completion.chunk" {
			t.Fatalf("event %q is not a chat.completion.chunk", ev.data)
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != nil && *ch.Delta.Content != "" {
				pieces = append(pieces, *ch.Delta.Content)
			}
			if ch.FinishReason != nil {
				finish = *ch.FinishReason
			}
		}
	}
}

func TestChatStreamFramesEveryPiece(t *testing.T) {
	h := startReady(t, genConfig(t))
	for _, path := range []string{"/v1/chat/completions", "/predict"} {
		resp, err := h.openStream(context.Background(), path, chatBody("hi", `"max_tokens":3,"pieces":3,"stream_options":{"include_usage":true}`, true))
		must(t, err)
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
			t.Fatalf("POST %s stream = %d %s, want 200 text/event-stream", path, resp.StatusCode, ct)
		}
		pieces, finish, tail := readStream(t, resp.Body)
		resp.Body.Close()
		if diff := cmp.Diff([]string{"hi-0 ", "hi-1 ", "hi-2 "}, pieces); diff != "" {
			t.Errorf("%s pieces (-want +got):\n%s", path, diff)
		}
		if finish != "length" {
			t.Errorf("%s finish_reason = %q, want the handler's length", path, finish)
		}
		if len(tail) != 1 || tail[0].data != "[DONE]" {
			t.Errorf("%s stream ends with %v, want data: [DONE]", path, tail)
		}
	}
}

func TestChatCompletionWithoutStream(t *testing.T) {
	h := startReady(t, genConfig(t))
	code, body := h.post("/v1/chat/completions", chatBody("yo", `"pieces":2`, false))
	if code != 200 {
		t.Fatalf("chat completion = %d %s", code, body)
	}
	var out struct {
		Object  string
		Choices []struct {
			Message      struct{ Role, Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
			TotalTokens      int `json:"total_tokens"`
		}
	}
	must(t, json.Unmarshal([]byte(body), &out))
	if out.Object != "chat.completion" || len(out.Choices) != 1 || out.Choices[0].Message.Content != "yo-0 yo-1 " ||
		out.Choices[0].Message.Role != "assistant" || out.Usage.TotalTokens != 5 || out.Usage.CompletionTokens != 2 {
		t.Errorf("chat completion = %s", body)
	}
	// Completions take a prompt.
	code, body = h.post("/v1/completions", `{"prompt":"p","pieces":1}`)
	if code != 200 || !strings.Contains(body, `"text":"p-0 "`) || !strings.Contains(body, `"object":"text_completion"`) {
		t.Errorf("completion = %d %s", code, body)
	}
	// A Vertex predict body with chatCompletions instances: one
	// chat.completion per instance.
	code, body = h.post("/predict", `{"instances":[{"@requestFormat":"chatCompletions","messages":[{"role":"user","content":"a"}],"pieces":1},`+
		`{"@requestFormat":"chatCompletions","messages":[{"role":"user","content":"b"}]}],"parameters":{"pieces":2}}`)
	var preds struct {
		Predictions []struct {
			Object  string
			Choices []struct{ Message struct{ Content string } }
		}
	}
	if code != 200 || json.Unmarshal([]byte(body), &preds) != nil || len(preds.Predictions) != 2 {
		t.Fatalf("chatCompletions predict = %d %s", code, body)
	}
	for i, want := range []string{"a-0 ", "b-0 b-1 "} {
		if p := preds.Predictions[i]; p.Object != "chat.completion" || p.Choices[0].Message.Content != want {
			t.Errorf("prediction %d = %+v, want a chat.completion saying %q", i, p, want)
		}
	}
	// Anything else keeps the predict path.
	if p, err := h.predict("", "plain"); err != nil || string(p[0].Echo) != `"plain"` {
		t.Errorf("plain predict = %v, %v", p, err)
	}
	for _, tc := range []struct{ path, body, want string }{
		{"/predict", `{"instances":[{"@requestFormat":"chatCompletions","messages":[]}]}`, `"messages" must be`},
		{"/predict", `{"instances":[{"@requestFormat":"chatCompletions","messages":[{"role":"user","content":"a"}]},1]}`, "or none"},
		{"/v1/chat/completions", `{"prompt":"x"}`, `"messages" must be`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"n":2}`, `"n" must be 1`},
		{"/v1/completions", `{"prompt":5}`, `"prompt" must be a string`},
	} {
		if code, body := h.post(tc.path, tc.body); code != 400 || !strings.Contains(errorField(t, body), tc.want) {
			t.Errorf("POST %s %s = %d %s, want 400 with %q", tc.path, tc.body, code, body, tc.want)
		}
	}
}

// The first byte leaves when the handler yields its first piece, not
// later: while the generator is held before its second piece, the client
// already holds the first.
func TestFirstByteIsTheFirstYield(t *testing.T) {
	h := startReady(t, genConfig(t))
	gate := t.TempDir()
	var opened atomic.Bool
	type result struct {
		resp       *http.Response
		err        error
		openedSeen bool
	}
	got := make(chan result, 1)
	go func() {
		resp, err := h.openStream(context.Background(), "/v1/chat/completions", chatBody("t", `"pieces":3,"gate":"`+gate+`"`, true))
		got <- result{resp, err, opened.Load()}
	}()
	// Health answers while the generation is held before its first piece.
	if code, _ := h.health(); code != http.StatusOK {
		t.Errorf("health during a stream = %d, want 200", code)
	}
	opened.Store(true)
	must(t, os.WriteFile(filepath.Join(gate, "0"), nil, 0o644))
	r := <-got
	must(t, r.err)
	defer r.resp.Body.Close()
	if !r.openedSeen {
		t.Error("response headers arrived before the handler yielded its first piece")
	}
	ev, err := sseReader{bufio.NewReader(r.resp.Body)}.next()
	must(t, err)
	var c chunk
	must(t, json.Unmarshal([]byte(ev.data), &c))
	if c.Choices[0].Delta.Role != "assistant" || *c.Choices[0].Delta.Content != "t-0 " {
		t.Errorf("first event = %s, want the role and the first piece", ev.data)
	}
	if _, err := os.Stat(filepath.Join(gate, "1")); err == nil {
		t.Fatal("test bug: gate 1 open")
	}
	if code, _ := h.health(); code != http.StatusOK {
		t.Errorf("health during a stream = %d, want 200", code)
	}
	must(t, os.WriteFile(filepath.Join(gate, "all"), nil, 0o644))
	io.Copy(io.Discard, r.resp.Body)
}

func TestHundredConcurrentStreamsStayInOrder(t *testing.T) {
	cfg := genConfig(t)
	cfg.MaxConcurrentStreams = 100
	h := startReady(t, cfg)
	const n, pieces = 100, 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := fmt.Sprintf("s%d", i)
			resp, err := h.openStream(context.Background(), "/v1/chat/completions", chatBody(p, fmt.Sprintf(`"pieces":%d,"sleep":0.001`, pieces), true))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			got, _, tail := readStream(t, resp.Body)
			want := make([]string, pieces)
			for j := range want {
				want[j] = fmt.Sprintf("%s-%d ", p, j)
			}
			if diff := cmp.Diff(want, got); diff != "" || len(tail) != 1 {
				errs <- fmt.Errorf("stream %d (-want +got):\n%s\ntail %v", i, diff, tail)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A client that goes away mid-stream closes the generator in the worker and
// frees its place for the next request.
func TestDisconnectClosesGeneratorAndFreesSlot(t *testing.T) {
	cfg := genConfig(t)
	cfg.MaxConcurrentStreams = 1
	h := startReady(t, cfg)
	mark := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := h.openStream(ctx, "/v1/chat/completions", chatBody("d", `"pieces":1000,"sleep":0.01,"mark":"`+mark+`"`, true))
	must(t, err)
	if _, err := (sseReader{bufio.NewReader(resp.Body)}).next(); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	waitFile(t, filepath.Join(mark, "closed"))
	if _, err := os.Stat(filepath.Join(mark, "yield-999")); err == nil {
		t.Error("the generator ran to its end after the client left")
	}
	waitMetric(t, h, "hfpack_generations_running", 0)
	// The only slot is free again.
	resp, err = h.openStream(context.Background(), "/v1/chat/completions", chatBody("e", `"pieces":2`, true))
	must(t, err)
	defer resp.Body.Close()
	if pieces, _, _ := readStream(t, resp.Body); len(pieces) != 2 {
		t.Errorf("stream after a disconnect got %v", pieces)
	}
}

func TestStreamDeadline(t *testing.T) {
	cfg := genConfig(t)
	cfg.StreamTimeout = sidecar.Duration(time.Second)
	h := startReady(t, cfg)
	mark := t.TempDir()
	resp, err := h.openStream(context.Background(), "/v1/chat/completions", chatBody("x", `"pieces":1000,"sleep":0.05,"mark":"`+mark+`"`, true))
	must(t, err)
	pieces, _, tail := readStream(t, resp.Body)
	resp.Body.Close()
	if len(pieces) == 0 || len(pieces) == 1000 {
		t.Errorf("got %d pieces before the deadline", len(pieces))
	}
	if len(tail) != 1 || tail[0].name != "error" || !strings.Contains(tail[0].data, "did not finish within 1s") {
		t.Errorf("stream past its deadline ends with %v, want an error event", tail)
	}
	waitFile(t, filepath.Join(mark, "closed"))
	// Without streaming, the deadline is a 504.
	code, body := h.post("/v1/chat/completions", chatBody("y", `"pieces":1000,"sleep":0.05`, false))
	if code != http.StatusGatewayTimeout {
		t.Errorf("chat completion past its deadline = %d %s, want 504", code, body)
	}
}

func TestStreamErrors(t *testing.T) {
	h := startReady(t, genConfig(t))
	// Before the first byte: the usual JSON error.
	resp, err := h.openStream(context.Background(), "/v1/chat/completions", chatBody("x", `"raise_at":0`, true))
	must(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(errorField(t, string(b)), "RuntimeError: broke at piece 0") {
		t.Errorf("error before the first piece = %d %s, want a JSON 500", resp.StatusCode, b)
	}
	// After it: an error event, then the stream closes.
	resp, err = h.openStream(context.Background(), "/v1/chat/completions", chatBody("x", `"raise_at":2`, true))
	must(t, err)
	pieces, _, tail := readStream(t, resp.Body)
	resp.Body.Close()
	if len(pieces) != 2 || len(tail) != 1 || tail[0].name != "error" || !strings.Contains(tail[0].data, "RuntimeError: broke at piece 2") {
		t.Errorf("error mid-stream: pieces %v, tail %v; want 2 pieces and an error event", pieces, tail)
	}
	// The worker is still there.
	if code, body := h.post("/v1/chat/completions", chatBody("z", `"pieces":1`, false)); code != 200 {
		t.Errorf("chat after errors = %d %s", code, body)
	}
}

func TestStreamQueueFull(t *testing.T) {
	cfg := genConfig(t)
	cfg.MaxConcurrentStreams = 1
	cfg.MaxBatchSize = 1
	cfg.MaxQueue = 1
	h := startReady(t, cfg)
	gate := t.TempDir()
	body := chatBody("q", `"pieces":1,"gate":"`+gate+`"`, false)
	codes := make(chan int, 2)
	for range 2 {
		go func() { c, _ := h.post("/v1/chat/completions", body); codes <- c }()
	}
	waitMetric(t, h, "hfpack_generations_waiting", 1) // one runs, one waits
	code, resp := h.post("/v1/chat/completions", body)
	if code != http.StatusTooManyRequests {
		t.Errorf("third generation with one running and one queued = %d %s, want 429", code, resp)
	}
	must(t, os.WriteFile(filepath.Join(gate, "all"), nil, 0o644))
	for range 2 {
		if c := <-codes; c != 200 {
			t.Errorf("queued generation = %d, want 200", c)
		}
	}
}

func TestChatWithoutGenerateIs501(t *testing.T) {
	h := startReady(t, testConfig(t, testHandler))
	code, body := h.post("/v1/chat/completions", chatBody("x", "", true))
	if code != http.StatusNotImplemented || !strings.Contains(errorField(t, body), "defines no generate()") {
		t.Errorf("chat with a predict-only handler = %d %s, want 501", code, body)
	}
}

// A generator that never yields again cannot see its cancellation: after
// the grace period the worker is restarted and the place freed.
func TestStuckGeneratorRestartsWorker(t *testing.T) {
	cfg := testConfig(t, genHandler+`
_orig = generate
def generate(state, instance, parameters):
    if parameters.get("stuck"):
        yield "first"
        open(parameters["stuck"], "w").close()
        time.sleep(3600)
    yield from _orig(state, instance, parameters)
`)
	cfg.MaxConcurrentStreams = 1
	h := startReady(t, cfg, sidecar.WithGeneratorGrace(300*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	// The generator must be past its yield, in the sleep, when the client
	// leaves: cancelled at the yield, it would close as it should.
	stuck := filepath.Join(t.TempDir(), "stuck")
	resp, err := h.openStream(ctx, "/v1/chat/completions", chatBody("s", fmt.Sprintf(`"stuck":%q`, stuck), true))
	must(t, err)
	if _, err := (sseReader{bufio.NewReader(resp.Body)}).next(); err != nil {
		t.Fatal(err)
	}
	waitFile(t, stuck)
	cancel()
	resp.Body.Close()
	h.waitHealthReason(http.StatusOK, `"restarts":1`)
	if _, body := h.health(); !strings.Contains(body, "did not close within 300ms") {
		t.Errorf("health after the restart = %s, want the stuck generation as last error", body)
	}
	if code, body := h.post("/v1/chat/completions", chatBody("n", `"pieces":1`, false)); code != 200 {
		t.Errorf("generation after the restart = %d %s", code, body)
	}
}

// floodHandler's generator yields "pieces" pieces of "size" bytes as fast as
// it can, writing how many it has yielded to the file "count" every 16.
const floodHandler = `
import os

def load(model_dir):
    return None

def predict(state, instances, parameters):
    return instances

def _count(path, n):
    with open(path + ".tmp", "w") as f:
        f.write(str(n))
    os.replace(path + ".tmp", path)

def generate(state, instance, parameters):
    n, size, path = parameters["pieces"], parameters["size"], parameters["count"]
    for i in range(n):
        if i % 16 == 0:
            _count(path, i)
        yield ("%08d" % i) + "x" * (size - 8)
    _count(path, n)
`

// A client that stops reading a stream pauses the generator (the worker
// waits for the sidecar to take its pieces) instead of the sidecar queueing
// the whole generation in memory; when the client reads again, every piece
// arrives, in order.
func TestSlowClientPausesTheGenerator(t *testing.T) {
	cfg := testConfig(t, floodHandler)
	cfg.MaxConcurrentStreams = 1
	h := startReady(t, cfg)
	const pieces, size = 8000, 8 << 10 // 64 MiB in all
	count := filepath.Join(t.TempDir(), "count")
	resp, err := h.openStream(context.Background(), "/v1/chat/completions",
		chatBody("f", fmt.Sprintf(`"pieces":%d,"size":%d,"count":%q`, pieces, size, count), true))
	must(t, err)
	defer resp.Body.Close()
	yielded := func() int {
		b, _ := os.ReadFile(count)
		var n int
		fmt.Sscan(string(b), &n)
		return n
	}
	// Read nothing until the generator stops making progress.
	last, still := -1, 0
	for deadline := time.Now().Add(20 * time.Second); still < 3 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		n := yielded()
		if n == last {
			still++
		} else {
			last, still = n, 0
		}
	}
	// What is in flight is the window, the worker's socket and the
	// loopback connection's buffers: a few MiB, not the 64 MiB generated.
	if last >= pieces/4 {
		t.Fatalf("the generator yielded %d of %d pieces (%d MiB) while the client read nothing", last, pieces, last*size>>20)
	}
	t.Logf("the generator paused after %d pieces (%.1f MiB) with the client not reading", last, float64(last*size)/(1<<20))
	got, finish, _ := readStream(t, resp.Body)
	if len(got) != pieces || finish != "stop" {
		t.Fatalf("after reading again: %d pieces, finish %q; want %d, stop", len(got), finish, pieces)
	}
	for i, p := range got {
		if want := fmt.Sprintf("%08d", i); !strings.HasPrefix(p, want) || len(p) != size {
			t.Fatalf("piece %d = %.8q (%d bytes), want %s (%d bytes)", i, p, len(p), want, size)
		}
	}
}

// A piece larger than a stream's window still goes, alone.
func TestPieceLargerThanTheWindow(t *testing.T) {
	cfg := testConfig(t, floodHandler)
	h := startReady(t, cfg)
	const pieces, size = 12, 700 << 10 // each more than the 256 KiB window
	count := filepath.Join(t.TempDir(), "count")
	resp, err := h.openStream(context.Background(), "/v1/chat/completions",
		chatBody("f", fmt.Sprintf(`"pieces":%d,"size":%d,"count":%q`, pieces, size, count), true))
	must(t, err)
	defer resp.Body.Close()
	got, finish, _ := readStream(t, resp.Body)
	if len(got) != pieces || finish != "stop" {
		t.Fatalf("%d pieces, finish %q; want %d, stop", len(got), finish, pieces)
	}
	for i, p := range got {
		if want := fmt.Sprintf("%08d", i); !strings.HasPrefix(p, want) || len(p) != size {
			t.Fatalf("piece %d = %.8q (%d bytes), want %s (%d bytes)", i, p, len(p), want, size)
		}
	}
}
