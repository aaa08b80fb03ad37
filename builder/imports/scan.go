package imports

import (
	"fmt"
	"strings"
)

// Import is one imported module.
type Import struct {
	// Module is the dotted module name without leading dots: "transformers",
	// "os.path", "utils" (for "from . import utils", Module is "utils" with
	// Level 1).
	Module string
	// Level is the number of leading dots of a relative import; 0 for absolute.
	Level int
	// Line is the 1-based line of the statement.
	Line int
	// Optional is true when the import sits in a try block whose handlers
	// catch ImportError (or ModuleNotFoundError, Exception, or everything).
	Optional bool
	// Dynamic is true for importlib.import_module("...") and __import__("...").
	Dynamic bool
	// Names are the names a "from M import a, b" takes from M; any of them
	// may be a submodule of a local package.
	Names []string `json:",omitempty"`
}

// Top returns the top-level package: "os" for "os.path".
func (i Import) Top() string {
	top, _, _ := strings.Cut(i.Module, ".")
	return top
}

type token struct {
	kind byte // 'n' name, 's' string, 'o' operator, 'x' other
	text string
	line int
}

// logical is one logical line: its tokens and its indentation.
type logical struct {
	indent int
	toks   []token
}

// tokenize splits src into logical lines. Strings are kept as single tokens
// holding their unquoted literal text (for import_module arguments).
func tokenize(src string) ([]logical, error) {
	var (
		out    []logical
		cur    logical
		depth  int
		line   = 1
		atBOL  = true
		indent int
	)
	flush := func() {
		if len(cur.toks) > 0 {
			out = append(out, cur)
		}
		cur = logical{}
	}
	for i := 0; i < len(src); {
		c := src[i]
		if atBOL {
			indent = 0
			for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\f') {
				if src[i] == '\t' {
					indent = (indent/8 + 1) * 8
				} else {
					indent++
				}
				i++
			}
			atBOL = false
			cur.indent = indent
			continue
		}
		switch {
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '\\' && i+1 < len(src) && (src[i+1] == '\n' || src[i+1] == '\r'):
			i++
			if src[i] == '\r' && i+1 < len(src) && src[i+1] == '\n' {
				i++
			}
			i++
			line++
		case c == '\n':
			line++
			i++
			if depth == 0 {
				flush()
				atBOL = true
			}
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			i++
		case c == '"' || c == '\'':
			s, n, nl, err := readString(src[i:], "")
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			cur.toks = append(cur.toks, token{'s', s, line})
			line += nl
			i += n
		case isIdentStart(c):
			j := i
			for j < len(src) && isIdent(src[j]) {
				j++
			}
			word := src[i:j]
			if j < len(src) && (src[j] == '"' || src[j] == '\'') && isStringPrefix(word) {
				s, n, nl, err := readString(src[j:], word)
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", line, err)
				}
				cur.toks = append(cur.toks, token{'s', s, line})
				line += nl
				i = j + n
				continue
			}
			cur.toks = append(cur.toks, token{'n', word, line})
			i = j
		case c == '(' || c == '[' || c == '{':
			depth++
			cur.toks = append(cur.toks, token{'o', string(c), line})
			i++
		case c == ')' || c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
			cur.toks = append(cur.toks, token{'o', string(c), line})
			i++
		case c == '.' || c == ',' || c == ':' || c == ';' || c == '*' || c == '=':
			cur.toks = append(cur.toks, token{'o', string(c), line})
			i++
		default:
			cur.toks = append(cur.toks, token{'x', string(c), line})
			i++
		}
	}
	flush()
	return out, nil
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
func isIdent(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "f", "br", "rb", "fr", "rf", "t", "tr", "rt":
		return true
	}
	return false
}

// readString reads a string literal at the start of s and returns its
// contents (escapes other than \\ and \quote are left as written), the bytes
// consumed and the newlines crossed.
func readString(s, prefix string) (string, int, int, error) {
	q := s[0]
	raw := strings.ContainsAny(prefix, "rR")
	triple := len(s) >= 3 && s[1] == q && s[2] == q
	start := 1
	if triple {
		start = 3
	}
	var b strings.Builder
	nl := 0
	for i := start; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			if s[i+1] == '\n' {
				nl++
			}
			if raw {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
			} else {
				b.WriteByte(s[i+1])
			}
			i++
		case c == '\n':
			if !triple {
				return "", 0, 0, fmt.Errorf("unterminated string")
			}
			nl++
			b.WriteByte(c)
		case c == q && (!triple || (i+2 < len(s) && s[i+1] == q && s[i+2] == q)):
			if triple {
				return b.String(), i + 3, nl, nil
			}
			return b.String(), i + 1, nl, nil
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, 0, fmt.Errorf("unterminated string")
}

// block is an open try statement whose handlers decide whether the imports
// in its body are optional.
type block struct {
	indent  int
	imports []int // indexes into the result
	inBody  bool
}

// Scan returns the imports in Python source src, in source order.
func Scan(src []byte) ([]Import, error) {
	lines, err := tokenize(string(src))
	if err != nil {
		return nil, err
	}
	var (
		out   []Import
		tries []*block
	)
	for _, ll := range lines {
		// A line at or left of a try's indentation ends it, unless it is
		// one of that try's handlers.
		for len(tries) > 0 {
			top := tries[len(tries)-1]
			if ll.indent > top.indent || (ll.indent == top.indent && isHandler(ll.toks)) {
				break
			}
			tries = tries[:len(tries)-1]
		}
		if len(tries) > 0 {
			top := tries[len(tries)-1]
			if ll.indent == top.indent && isHandler(ll.toks) {
				top.inBody = false
				if catchesImportError(ll.toks) {
					for _, k := range top.imports {
						out[k].Optional = true
					}
				}
			}
		}
		for _, stmt := range statements(ll.toks) {
			if len(stmt) > 0 && stmt[0].kind == 'n' && stmt[0].text == "try" {
				tries = append(tries, &block{indent: ll.indent, inBody: true})
				stmt = afterColon(stmt)
			}
			for _, imp := range parseStatement(stmt) {
				out = append(out, imp)
				for _, b := range tries {
					if b.inBody && ll.indent >= b.indent {
						b.imports = append(b.imports, len(out)-1)
					}
				}
			}
		}
	}
	return out, nil
}

func startsWith(toks []token, kw string) bool {
	return len(toks) > 0 && toks[0].kind == 'n' && toks[0].text == kw
}

func isHandler(toks []token) bool {
	return startsWith(toks, "except") || startsWith(toks, "else") || startsWith(toks, "finally")
}

func catchesImportError(toks []token) bool {
	if !startsWith(toks, "except") {
		return false
	}
	if len(toks) > 1 && toks[1].text == ":" {
		return true // bare except
	}
	for _, t := range toks[1:] {
		if t.text == ":" {
			break
		}
		switch t.text {
		case "ImportError", "ModuleNotFoundError", "Exception", "BaseException":
			return true
		}
	}
	return false
}

// statements splits a logical line on top-level ';' and after a compound
// statement's ':' ("if x: import y").
func statements(toks []token) [][]token {
	var out [][]token
	depth, start := 0, 0
	for i, t := range toks {
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		case ";":
			if depth == 0 {
				out = append(out, toks[start:i])
				start = i + 1
			}
		}
	}
	return append(out, toks[start:])
}

func afterColon(stmt []token) []token {
	for i, t := range stmt {
		if t.text == ":" {
			return stmt[i+1:]
		}
	}
	return nil
}

// parseStatement reads import statements and dynamic imports from one statement.
func parseStatement(stmt []token) []Import {
	// A compound statement header may carry a simple statement after ':'.
	if len(stmt) > 0 && stmt[0].kind == 'n' {
		switch stmt[0].text {
		case "if", "elif", "else", "for", "while", "with", "def", "class", "except", "finally", "async":
			if rest := afterColon(stmt); len(rest) > 0 {
				return parseStatement(rest)
			}
		}
	}
	var out []Import
	if startsWith(stmt, "import") {
		out = append(out, parseImport(stmt[1:])...)
	} else if startsWith(stmt, "from") {
		out = append(out, parseFrom(stmt[1:])...)
	}
	return append(out, dynamic(stmt)...)
}

// parseImport reads "a.b as c, d".
func parseImport(toks []token) []Import {
	var out []Import
	for _, part := range split(toks, ",") {
		mod, _ := dotted(part)
		if mod != "" {
			out = append(out, Import{Module: mod, Line: part[0].line})
		}
	}
	return out
}

// parseFrom reads ".x import y, z" or "x.y import (a as b)".
func parseFrom(toks []token) []Import {
	level := 0
	i := 0
	for ; i < len(toks) && toks[i].text == "."; i++ {
		level++
	}
	mod, n := dotted(toks[i:])
	i += n
	if i >= len(toks) || toks[i].text != "import" {
		return nil
	}
	line := toks[0].line
	var names []string
	for _, part := range split(toks[i+1:], ",") {
		for len(part) > 0 && (part[0].text == "(" || part[0].text == ")") {
			part = part[1:]
		}
		if len(part) > 0 && part[0].kind == 'n' {
			names = append(names, part[0].text)
		}
	}
	if mod != "" {
		return []Import{{Module: mod, Level: level, Line: line, Names: names}}
	}
	// "from . import a, b": each name may be a module of the package.
	var out []Import
	for _, n := range names {
		out = append(out, Import{Module: n, Level: level, Line: line})
	}
	return out
}

// dotted reads a dotted name and returns it with the tokens consumed.
func dotted(toks []token) (string, int) {
	var parts []string
	i := 0
	for i < len(toks) && toks[i].kind == 'n' && toks[i].text != "import" && toks[i].text != "as" {
		parts = append(parts, toks[i].text)
		i++
		if i < len(toks) && toks[i].text == "." {
			i++
			continue
		}
		break
	}
	return strings.Join(parts, "."), i
}

func split(toks []token, sep string) [][]token {
	var out [][]token
	start := 0
	for i, t := range toks {
		if t.text == sep {
			out = append(out, toks[start:i])
			start = i + 1
		}
	}
	out = append(out, toks[start:])
	var nonEmpty [][]token
	for _, p := range out {
		if len(p) > 0 {
			nonEmpty = append(nonEmpty, p)
		}
	}
	return nonEmpty
}

// dynamic finds import_module("lit") and __import__("lit") calls.
func dynamic(toks []token) []Import {
	var out []Import
	for i := 0; i+2 < len(toks); i++ {
		if toks[i].kind != 'n' || (toks[i].text != "import_module" && toks[i].text != "__import__") {
			continue
		}
		if toks[i+1].text != "(" || toks[i+2].kind != 's' {
			continue
		}
		lit := toks[i+2].text
		level := len(lit) - len(strings.TrimLeft(lit, "."))
		if level > 0 {
			continue // relative to a package argument we cannot see
		}
		if lit != "" {
			out = append(out, Import{Module: lit, Line: toks[i].line, Dynamic: true})
		}
	}
	return out
}
