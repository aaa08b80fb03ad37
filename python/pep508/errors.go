package pep508

import (
	"errors"
	"fmt"
)

// ErrSyntax is wrapped by every *SyntaxError, for errors.Is.
var ErrSyntax = errors.New("invalid dependency specifier")

// SyntaxError reports where and why a requirement or marker does not parse.
type SyntaxError struct {
	// Input is the text being parsed.
	Input string
	// Column is the 1-based byte column of the problem in Input.
	Column int
	// Msg says what is wrong, e.g. `expected a version after ">="`.
	Msg string
	// Err is an underlying error (from the pep440 package), if any.
	Err error
}

// Error returns `parsing "<input>": column N: <msg>`.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("parsing %q: column %d: %s", e.Input, e.Column, e.Msg)
}

// Unwrap returns ErrSyntax and the underlying error, if any.
func (e *SyntaxError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrSyntax, e.Err}
	}
	return []error{ErrSyntax}
}
