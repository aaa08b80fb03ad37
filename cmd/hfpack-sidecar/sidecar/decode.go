package sidecar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"
)

// predictRequest is a decoded prediction request.
type predictRequest struct {
	Instances  []json.RawMessage // each a valid JSON value
	Parameters json.RawMessage   // compact JSON object, or nil when absent, null or {}
}

// requestError is a client error with the HTTP status it maps to.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// decodeRequest parses a Vertex prediction body:
// {"instances": [...], "parameters": {...}}, parameters optional.
// Bodies that are not UTF-8, nest deeper than maxDepth, or are not such an
// object are rejected with a *requestError.
func decodeRequest(body []byte, maxDepth int) (predictRequest, error) {
	var req predictRequest
	if !utf8.Valid(body) {
		return req, badRequest("request body is not valid UTF-8")
	}
	if d := jsonDepth(body); d > maxDepth {
		return req, badRequest("request body nests deeper than %d levels", maxDepth)
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return req, badRequest(`request body is empty; want {"instances": [...]}`)
	}
	if trimmed[0] != '{' {
		if !json.Valid(trimmed) {
			return req, badRequest("malformed JSON in request body")
		}
		return req, badRequest(`request body must be a JSON object {"instances": [...]}`)
	}
	var raw struct {
		Instances  json.RawMessage `json:"instances"`
		Parameters json.RawMessage `json:"parameters"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return req, badRequest("malformed JSON in request body at byte %d: %v", se.Offset, err)
		}
		return req, badRequest("malformed JSON in request body: %v", err)
	}
	if len(raw.Instances) == 0 || string(raw.Instances) == "null" {
		return req, badRequest(`request body has no "instances" array`)
	}
	if raw.Instances[0] != '[' {
		return req, badRequest(`"instances" must be a JSON array`)
	}
	if err := json.Unmarshal(raw.Instances, &req.Instances); err != nil {
		return req, badRequest(`decoding "instances": %v`, err)
	}
	params, err := compactParams(raw.Parameters)
	if err != nil {
		return req, err
	}
	req.Parameters = params
	return req, nil
}

func compactParams(p json.RawMessage) (json.RawMessage, error) {
	if len(p) == 0 || string(p) == "null" {
		return nil, nil
	}
	if p[0] != '{' {
		return nil, badRequest(`"parameters" must be a JSON object`)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, p); err != nil {
		return nil, badRequest(`decoding "parameters": %v`, err)
	}
	if b.String() == "{}" {
		return nil, nil
	}
	return b.Bytes(), nil
}

// jsonDepth returns the deepest nesting of arrays and objects in b, ignoring
// brackets inside strings. It does not validate b.
func jsonDepth(b []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}
