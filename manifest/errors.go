package manifest

import (
	"fmt"
	"strings"
)

// FieldError is one problem with one key of a manifest.
type FieldError struct {
	File string // the manifest's path as given to Load
	Line int    // 1-based; 0 when the key is absent from the file
	Key  string // dotted key path, e.g. "python.index[0].url"
	Msg  string // what is wrong and what is allowed
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one manifest, in file order. Load returns
// it (as an error) when validation fails.
type Errors []*FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	if len(es) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%d problems in manifest:\n  %s", len(es), strings.Join(lines, "\n  "))
}

// Unwrap lets errors.As reach each *FieldError.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
