package sidecar

import (
	"encoding/json"
	"testing"
)

func FuzzGenRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":5}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"stream_options":{"include_usage":true}}`,
		`{"messages":[]}`, `{"messages":[1]}`, `{"messages":[{"content":"x"}]}`, `{"messages":{"role":"user"}}`,
		`{"messages":null}`, `{"prompt":"p","max_completion_tokens":3}`, `{"prompt":["p"]}`, `{"prompt":["p","q"]}`,
		`{"prompt":5}`, `{"messages":[{"role":"user"}],"n":2}`, `{"messages":[{"role":"user"}],"stream":"yes"}`,
		`{"messages":[{"role":"user"}],"model":7}`, `{"@requestFormat":"chatCompletions","messages":[{"role":"u"}]}`,
		`null`, `[]`, `{}`, `{"messages":[{"role":"user"}],"messages":[]}`, "{\"prompt\":\"\xff\"}",
	} {
		f.Add([]byte(s), []byte(`{"temperature":0.5}`))
		f.Add([]byte(s), []byte(`{"messages":[],"stream":true,"max_completion_tokens":1}`))
	}
	f.Fuzz(func(t *testing.T, body, base []byte) {
		if !json.Valid(base) {
			base = nil
		}
		for _, kind := range []genKind{kindChat, kindCompletion} {
			req, err := parseGenRequest(body, kind, base)
			if err != nil {
				if _, ok := err.(*requestError); !ok {
					t.Fatalf("parseGenRequest error %T %v is not a *requestError", err, err)
				}
				continue
			}
			var inst map[string]json.RawMessage
			if err := json.Unmarshal(req.instance, &inst); err != nil || len(inst) != 1 {
				t.Fatalf("instance %q is not a one-key object", req.instance)
			}
			if p, ok := inst["prompt"]; ok {
				var s string
				if kind != kindCompletion || json.Unmarshal(p, &s) != nil {
					t.Fatalf("prompt %q in a %v request", p, kind)
				}
			} else if _, ok := inst["messages"]; !ok || kind != kindChat {
				t.Fatalf("instance %q for kind %v", req.instance, kind)
			}
			var params map[string]json.RawMessage
			if err := json.Unmarshal(req.params, &params); err != nil || params == nil {
				t.Fatalf("parameters %q are not an object", req.params)
			}
			for _, k := range []string{"messages", "prompt", "stream", "model", "max_completion_tokens"} {
				if _, ok := params[k]; ok {
					t.Fatalf("parameters %q carry %q", req.params, k)
				}
			}
		}
	})
}

func FuzzParsePiece(f *testing.F) {
	for _, s := range []string{`"hi"`, `{"text":"x","finish_reason":"length","usage":{"prompt_tokens":1,"completion_tokens":2}}`,
		`{"text":5}`, `5`, `null`, `[]`, `{"usage":{"prompt_tokens":"x"}}`, `{}`, `"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return // the worker sends valid JSON only
		}
		p, err := parsePiece(raw)
		if err != nil {
			return
		}
		if p.text != nil {
			var s string
			if json.Unmarshal(p.text, &s) != nil {
				t.Fatalf("piece text %q is not a JSON string", p.text)
			}
		}
	})
}
