package sidecar_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar"
)

// fakeTransformers stands in for the transformers package: pipeline()
// returns a callable that reports how it was built and called.
const fakeTransformers = `
def pipeline(task, model=None, device=None):
    def run(inputs, batch_size=None, **kwargs):
        return [{"task": task, "model": model, "device": device, "input": x,
                 "batch_size": batch_size, "kwargs": kwargs} for x in inputs]
    return run
`

func TestDefaultHandlerRunsPipeline(t *testing.T) {
	lib := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(lib, "transformers"), 0o755))
	must(t, os.WriteFile(filepath.Join(lib, "transformers", "__init__.py"), []byte(fakeTransformers), 0o644))
	cfg := testConfig(t, "")
	cfg.Handler = ""
	cfg.Task = "text-classification"
	h := startReady(t, cfg, sidecar.WithWorkerEnv("PYTHONPATH="+lib))

	code, body := h.post("/predict", `{"instances":["a","b"],"parameters":{"top_k":2}}`)
	if code != 200 {
		t.Fatalf("predict = %d %s", code, body)
	}
	var out struct{ Predictions []map[string]any }
	must(t, json.Unmarshal([]byte(body), &out))
	want := []map[string]any{
		{"task": "text-classification", "model": cfg.ModelDir, "device": -1.0, "input": "a", "batch_size": 2.0, "kwargs": map[string]any{"top_k": 2.0}},
		{"task": "text-classification", "model": cfg.ModelDir, "device": -1.0, "input": "b", "batch_size": 2.0, "kwargs": map[string]any{"top_k": 2.0}},
	}
	if diff := cmp.Diff(want, out.Predictions); diff != "" {
		t.Errorf("pipeline calls (-want +got):\n%s", diff)
	}
}

// fakeGenerative stands in for transformers for the generative tasks: a
// pipeline with a tokenizer (chat template, encoding) and a model whose
// generate() feeds a TextIteratorStreamer token by token, asks the stopping
// criteria after each, and logs how it was called to MODEL_DIR/calls.jsonl.
const fakeGenerative = `
import json, os, queue, time

_log_dir = [None]

def _log(entry):
    with open(os.path.join(_log_dir[0], "calls.jsonl"), "a") as f:
        f.write(json.dumps(entry) + "\n")

def set_seed(seed):
    _log({"set_seed": seed})

class _Tensor:
    def __init__(self, text):
        self.text = text
        self.shape = (1, len(text.split()))

class _Encoding(dict):
    def to(self, device):
        _log({"to": device})
        return self

class _Tokenizer:
    chat_template = None if os.environ.get("FAKE_NO_TEMPLATE") else "{{ fake }}"
    def apply_chat_template(self, messages, tokenize=True, add_generation_prompt=False):
        assert tokenize is False and add_generation_prompt is True
        return " ".join("<%s> %s" % (m["role"], m["content"]) for m in messages) + " <assistant>"
    def __call__(self, text, return_tensors=None):
        return _Encoding(input_ids=_Tensor(text), attention_mask=_Tensor(text))

WORDS = ["Hel", "lo", ",", " wor", "ld", "!", " END", " after"]

class _Model:
    device = "cpu"
    def generate(self, input_ids=None, attention_mask=None, max_new_tokens=20, streamer=None, stopping_criteria=None, **kw):
        _log({"generate": {"prompt": input_ids.text, "max_new_tokens": max_new_tokens, "kwargs": kw}})
        steps = 0
        for i in range(max_new_tokens):
            time.sleep(float(os.environ.get("FAKE_TOKEN_SECONDS", "0")))
            streamer.put(WORDS[i % len(WORDS)])
            steps += 1
            if any(c(None, None) for c in stopping_criteria):
                break
        streamer.end()
        _log({"generated": steps})

class _Pipeline:
    def __init__(self, task, model):
        self.task, self.tokenizer, self.model = task, _Tokenizer(), _Model()
        _log_dir[0] = model

def pipeline(task, model=None, device=None):
    return _Pipeline(task, model)

class StoppingCriteria:
    pass

class StoppingCriteriaList(list):
    pass

class TextIteratorStreamer:
    def __init__(self, tokenizer, skip_prompt=False, timeout=None, **decode_kwargs):
        assert skip_prompt and decode_kwargs.get("skip_special_tokens")
        self.q = queue.Queue()
    def put(self, text):
        self.q.put(text)
    def end(self):
        self.q.put(None)
    def __iter__(self):
        return self
    def __next__(self):
        v = self.q.get()
        if v is None:
            raise StopIteration
        return v
`

func fakeGenerativeLib(t *testing.T) string {
	lib := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(lib, "transformers"), 0o755))
	must(t, os.WriteFile(filepath.Join(lib, "transformers", "__init__.py"), []byte(fakeGenerative), 0o644))
	return lib
}

func calls(t *testing.T, dir string) []map[string]any {
	b, _ := os.ReadFile(filepath.Join(dir, "calls.jsonl"))
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func TestDefaultHandlerGenerates(t *testing.T) {
	lib := fakeGenerativeLib(t)
	cfg := testConfig(t, "")
	cfg.Handler = ""
	cfg.Task = "text-generation"
	h := startReady(t, cfg, sidecar.WithWorkerEnv("PYTHONPATH="+lib))

	// Chat template, max_tokens, sampling options and seed reach generate().
	code, body := h.post("/v1/chat/completions", `{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],`+
		`"max_tokens":5,"temperature":0.7,"top_p":0.9,"seed":42}`)
	if code != 200 {
		t.Fatalf("chat = %d %s", code, body)
	}
	var out struct {
		Choices []struct {
			Message      struct{ Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	must(t, json.Unmarshal([]byte(body), &out))
	if c := out.Choices[0]; c.Message.Content != "Hello, world" || c.FinishReason != "length" {
		t.Errorf("chat answer = %+v, want \"Hello, world\" cut by max_tokens", c)
	}
	if out.Usage.PromptTokens != 6 || out.Usage.CompletionTokens != 5 {
		t.Errorf("usage = %+v, want 6 prompt tokens (the templated prompt's words) and 5 completion tokens", out.Usage)
	}
	want := []map[string]any{
		{"set_seed": 42.0},
		{"to": "cpu"},
		{"generate": map[string]any{"prompt": "<system> be brief <user> hi <assistant>", "max_new_tokens": 5.0,
			"kwargs": map[string]any{"do_sample": true, "temperature": 0.7, "top_p": 0.9}}},
		{"generated": 5.0},
	}
	if diff := cmp.Diff(want, calls(t, cfg.ModelDir)); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}

	// A stop sequence ends the answer before it; temperature 0 is greedy.
	os.Remove(filepath.Join(cfg.ModelDir, "calls.jsonl"))
	code, body = h.post("/v1/completions", `{"prompt":"once","max_new_tokens":50,"stop":[" END"],"temperature":0}`)
	if code != 200 || !strings.Contains(body, `"text":"Hello, world!"`) || !strings.Contains(body, `"finish_reason":"stop"`) {
		t.Errorf("completion with a stop sequence = %d %s", code, body)
	}
	if c := calls(t, cfg.ModelDir); len(c) < 2 || !cmp.Equal(c[1]["generate"].(map[string]any)["kwargs"], map[string]any{"do_sample": false}) {
		t.Errorf("calls for temperature 0 = %v, want do_sample false", c)
	}

	// Streamed: pieces as the streamer yields them.
	resp, err := h.openStream(t.Context(), "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"max_tokens":3,"stream":true}`)
	must(t, err)
	pieces, finish, _ := readStream(t, resp.Body)
	resp.Body.Close()
	if diff := cmp.Diff([]string{"Hel", "lo", ","}, pieces); diff != "" || finish != "length" {
		t.Errorf("streamed pieces (-want +got):\n%s (finish %q)", diff, finish)
	}
}

// Closing the stream stops the model's generation at its next token.
func TestDefaultHandlerStopsGeneratingWhenClientLeaves(t *testing.T) {
	lib := fakeGenerativeLib(t)
	cfg := testConfig(t, "")
	cfg.Handler = ""
	cfg.Task = "text2text-generation"
	h := startReady(t, cfg, sidecar.WithWorkerEnv("PYTHONPATH="+lib, "FAKE_TOKEN_SECONDS=0.01", "FAKE_NO_TEMPLATE=1"))
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := h.openStream(ctx, "/v1/chat/completions", `{"messages":[{"role":"system","content":"x"},{"role":"user","content":[{"type":"text","text":"y"}]}],"max_tokens":100000,"stream":true}`)
	must(t, err)
	if _, err := (sseReader{bufio.NewReader(resp.Body)}).next(); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c := calls(t, cfg.ModelDir)
		if n, ok := c[len(c)-1]["generated"].(float64); ok {
			if n >= 100000 {
				t.Errorf("generation ran all %v tokens after the client left", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("generation did not stop after the client left")
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitMetric(t, h, "hfpack_generations_running", 0)
	// Without a chat template, the prompt is the messages' contents, one per line.
	if c := calls(t, cfg.ModelDir); len(c) < 2 || c[1]["generate"].(map[string]any)["prompt"] != "x\ny" {
		t.Errorf("calls = %v, want the prompt \"x\\ny\"", c)
	}
}

func TestDefaultHandlerOffersGenerateOnlyForGenerativeTasks(t *testing.T) {
	lib := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(lib, "transformers"), 0o755))
	must(t, os.WriteFile(filepath.Join(lib, "transformers", "__init__.py"), []byte(fakeTransformers), 0o644))
	cfg := testConfig(t, "")
	cfg.Handler = ""
	cfg.Task = "text-classification"
	h := startReady(t, cfg, sidecar.WithWorkerEnv("PYTHONPATH="+lib))
	if code, body := h.post("/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`); code != http.StatusNotImplemented {
		t.Errorf("chat with a text-classification model = %d %s, want 501", code, body)
	}
}
