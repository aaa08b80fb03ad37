package pep508

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hfpack/hfpack/python/pep440"
)

// Marker is a parsed environment marker: an *And, an *Or or a *Comparison.
type Marker interface {
	// Evaluate reports whether the marker holds in env. A comparison that
	// PEP 508 leaves undefined (`os_name ~= "posix"`) is false.
	Evaluate(env Environment) bool
	// String returns the marker in canonical form: variables by their PEP
	// 508 names, literals double-quoted, parentheses only where needed.
	String() string
	marker()
}

// And holds when both sides hold.
type And struct{ Left, Right Marker }

// Or holds when either side holds.
type Or struct{ Left, Right Marker }

// Comparison is one `lhs op rhs` test, e.g. `python_version >= "3.9"`.
type Comparison struct {
	Left  Value
	Op    string // one of < <= != == >= > ~= === in "not in"
	Right Value
}

// Value is a marker operand: an environment variable or a string literal.
type Value struct {
	// Variable is the PEP 508 variable name, empty for a literal.
	Variable string
	// Literal is the string's value when Variable is empty.
	Literal string
}

func (*And) marker()        {}
func (*Or) marker()         {}
func (*Comparison) marker() {}

// Evaluate implements Marker.
func (m *And) Evaluate(env Environment) bool { return m.Left.Evaluate(env) && m.Right.Evaluate(env) }

// Evaluate implements Marker.
func (m *Or) Evaluate(env Environment) bool { return m.Left.Evaluate(env) || m.Right.Evaluate(env) }

// Evaluate implements Marker. Where the operator and the right side form a
// valid PEP 440 specifier and the left side a valid version, the versions
// are compared (pre-releases admitted); otherwise the strings are. Names of
// extras are normalised before comparing (PEP 685).
func (m *Comparison) Evaluate(env Environment) bool {
	lhs, rhs := m.Left.value(env), m.Right.value(env)
	if m.Left.Variable == "extra" || m.Right.Variable == "extra" {
		lhs, rhs = NormalizeName(lhs), NormalizeName(rhs)
	}
	switch m.Op {
	case "in":
		return strings.Contains(rhs, lhs)
	case "not in":
		return !strings.Contains(rhs, lhs)
	}
	if spec, err := pep440.ParseSpecifier(m.Op + rhs); err == nil {
		if v, err := pep440.ParseVersion(lhs); err == nil {
			return spec.Match(v)
		}
	}
	switch m.Op {
	case "==", "===":
		return lhs == rhs
	case "!=":
		return lhs != rhs
	case "<":
		return lhs < rhs
	case "<=":
		return lhs <= rhs
	case ">":
		return lhs > rhs
	case ">=":
		return lhs >= rhs
	}
	return false // ~= on strings is undefined
}

func (v Value) value(env Environment) string {
	if v.Variable == "" {
		return v.Literal
	}
	s, _ := env.Get(v.Variable)
	return s
}

// String implements Marker.
func (m *And) String() string { return paren(m.Left, true) + " and " + paren(m.Right, true) }

// String implements Marker.
func (m *Or) String() string { return m.Left.String() + " or " + m.Right.String() }

// String implements Marker.
func (m *Comparison) String() string { return m.Left.String() + " " + m.Op + " " + m.Right.String() }

// String returns the variable name, or the literal quoted: with double
// quotes unless it contains one.
func (v Value) String() string {
	switch {
	case v.Variable != "":
		return v.Variable
	case strings.Contains(v.Literal, `"`):
		return "'" + v.Literal + "'"
	}
	return `"` + v.Literal + `"`
}

func paren(m Marker, inAnd bool) string {
	if _, ok := m.(*Or); ok && inAnd {
		return "(" + m.String() + ")"
	}
	return m.String()
}

// ParseMarker parses an environment marker such as
// `sys_platform == "linux" and python_version >= "3.9"`.
func ParseMarker(s string) (Marker, error) {
	p := &parser{in: s}
	m, err := p.marker()
	if err != nil {
		return nil, err
	}
	return m, nil
}

// MustParseMarker is ParseMarker for constants; it panics on error.
func MustParseMarker(s string) Marker {
	m, err := ParseMarker(s)
	if err != nil {
		panic(err)
	}
	return m
}

// marker parses a whole marker from p.pos to the end of input.
func (p *parser) marker() (Marker, error) {
	m, err := p.or(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if !p.eof() {
		return nil, p.errorf(p.pos, "unexpected %q after marker; expected \"and\", \"or\" or the end", p.rest(12))
	}
	return m, nil
}

// maxMarkerDepth bounds parenthesis nesting so hostile input cannot exhaust
// the stack.
const maxMarkerDepth = 64

func (p *parser) or(depth int) (Marker, error) {
	left, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		right, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		left = &Or{Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) and(depth int) (Marker, error) {
	left, err := p.expr(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		right, err := p.expr(depth)
		if err != nil {
			return nil, err
		}
		left = &And{Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) expr(depth int) (Marker, error) {
	p.space()
	if p.peek() == '(' {
		if depth >= maxMarkerDepth {
			return nil, p.errorf(p.pos, "markers nested deeper than %d parentheses", maxMarkerDepth)
		}
		open := p.pos
		p.pos++
		m, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		p.space()
		if p.peek() != ')' {
			return nil, p.errorf(p.pos, "expected \")\" to close the \"(\" at column %d", open+1)
		}
		p.pos++
		return m, nil
	}
	start := p.pos
	left, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	op, err := p.operator()
	if err != nil {
		return nil, err
	}
	right, err := p.value()
	if err != nil {
		return nil, err
	}
	if left.Variable == "" && right.Variable == "" {
		return nil, p.errorf(start, "marker compares two strings; one side must be an environment variable such as python_version")
	}
	return &Comparison{Left: left, Op: op, Right: right}, nil
}

func (p *parser) value() (Value, error) {
	p.space()
	start := p.pos
	switch q := p.peek(); {
	case q == '"' || q == '\'':
		end := strings.IndexByte(p.in[p.pos+1:], q)
		if end < 0 {
			return Value{}, p.errorf(start, "unterminated string: no closing %c", q)
		}
		lit := p.in[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		return Value{Literal: lit}, nil
	case isIdentByte(q):
		for !p.eof() && (isIdentByte(p.peek()) || p.peek() == '.') {
			p.pos++
		}
		word := p.in[start:p.pos]
		name, ok := markerVariables[word]
		if !ok {
			return Value{}, p.errorf(start, "unknown marker variable %q; expected one of python_version, python_full_version, os_name, sys_platform, platform_release, platform_system, platform_version, platform_machine, platform_python_implementation, implementation_name, implementation_version, extra", word)
		}
		return Value{Variable: name}, nil
	case p.eof():
		return Value{}, p.errorf(start, "expected a marker variable or a quoted string, found the end")
	}
	return Value{}, p.errorf(start, "expected a marker variable or a quoted string, found %q", p.rest(8))
}

func (p *parser) operator() (string, error) {
	for _, op := range []string{"===", "==", "!=", "<=", ">=", "~=", "<", ">"} {
		if strings.HasPrefix(p.in[p.pos:], op) {
			p.pos += len(op)
			return op, nil
		}
	}
	at := p.pos
	if p.keyword("in") {
		return "in", nil
	}
	if p.keyword("not") {
		if p.keyword("in") {
			return "not in", nil
		}
		return "", p.errorf(at, "expected \"in\" after \"not\"")
	}
	if p.eof() {
		return "", p.errorf(at, "expected a comparison operator, found the end")
	}
	return "", p.errorf(at, "expected a comparison operator (==, !=, <, <=, >, >=, ~=, ===, in, not in), found %q", p.rest(8))
}

// parser is a cursor over a requirement or marker.
type parser struct {
	in  string
	pos int
}

func (p *parser) eof() bool { return p.pos >= len(p.in) }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.in[p.pos]
}

func (p *parser) rest(n int) string {
	r := p.in[p.pos:]
	if len(r) > n {
		for n > 0 && !utf8.RuneStart(r[n]) {
			n--
		}
		r = r[:n] + "…"
	}
	return r
}

func (p *parser) space() {
	for !p.eof() && (p.in[p.pos] == ' ' || p.in[p.pos] == '\t') {
		p.pos++
	}
}

// keyword consumes word (after optional space) when it stands alone.
func (p *parser) keyword(word string) bool {
	save := p.pos
	p.space()
	if strings.HasPrefix(p.in[p.pos:], word) {
		end := p.pos + len(word)
		if end == len(p.in) || !isIdentByte(p.in[end]) {
			p.pos = end
			return true
		}
	}
	p.pos = save
	return false
}

func (p *parser) errorf(pos int, format string, args ...any) error {
	return &SyntaxError{Input: p.in, Column: pos + 1, Msg: fmt.Sprintf(format, args...)}
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
