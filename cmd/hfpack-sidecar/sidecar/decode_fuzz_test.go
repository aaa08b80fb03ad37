package sidecar

import (
	"encoding/json"
	"strings"
	"testing"
)

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"instances":[1,"a",{"b":[null]}],"parameters":{"k":1}}`,
		`{"instances":[]}`,
		`{"instances":null}`,
		`{"instances":{"a":1}}`,
		`{"instances":[1],"parameters":[]}`,
		`{"instances":[1],"parameters":{}}`,
		`{"instances":[1,2`,
		`[1,2]`,
		``,
		` `,
		"{\"instances\":[\"\xff\"]}",
		`{"instances":["\ud800"]}`,
		`{"instances":["]]]]\"[[["]}`,
		`{"instances":[1]}{"instances":[2]}`,
		`{"Instances":[1],"INSTANCES":[2]}`,
		`{"instances":[` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `]}`,
		`{"instances":[1e999, -0, 1.5e-400]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeRequest(body, 16)
		if err != nil {
			if _, ok := err.(*requestError); !ok {
				t.Fatalf("decodeRequest error %T %v is not a *requestError", err, err)
			}
			return
		}
		if jsonDepth(body) > 16 {
			t.Fatalf("accepted a body nested %d deep", jsonDepth(body))
		}
		if req.Instances == nil {
			t.Fatal("accepted a body without instances")
		}
		for i, in := range req.Instances {
			if !json.Valid(in) {
				t.Fatalf("instance %d %q is not valid JSON", i, in)
			}
		}
		if req.Parameters != nil {
			var m map[string]any
			if err := json.Unmarshal(req.Parameters, &m); err != nil || len(m) == 0 {
				t.Fatalf("parameters %q are not a non-empty object", req.Parameters)
			}
		}
	})
}

func TestJSONDepth(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{`1`, 0},
		{`[]`, 1},
		{`{"a":[{"b":[]}]}`, 4},
		{`["[[[[", "\"[["]`, 1},
		{`"\\"`, 0},
	}
	for _, tc := range tests {
		if got := jsonDepth([]byte(tc.in)); got != tc.want {
			t.Errorf("jsonDepth(%s) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
