package manifest

import "strings"

// positions maps dotted key paths ("python.index[0].url",
// "python.requirements[2]") to the 1-based line where they appear. It reads
// only files that the TOML decoder has already accepted, so it can be lenient:
// its job is to point at lines, not to parse.
type positions map[string]int

func scanPositions(src string) positions {
	s := &scanner{src: src, line: 1, pos: positions{}, arrays: map[string]int{}}
	s.run()
	return s.pos
}

type scanner struct {
	src    string
	i      int
	line   int
	table  string
	arrays map[string]int
	pos    positions
}

func (s *scanner) peek(n int) string {
	if s.i+n > len(s.src) {
		return s.src[s.i:]
	}
	return s.src[s.i : s.i+n]
}

func (s *scanner) advance(n int) {
	for k := 0; k < n && s.i < len(s.src); k++ {
		if s.src[s.i] == '\n' {
			s.line++
		}
		s.i++
	}
}

func (s *scanner) skipSpace(newlines bool) {
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			s.advance(1)
		case c == '\n' && newlines:
			s.advance(1)
		case c == '#':
			for s.i < len(s.src) && s.src[s.i] != '\n' {
				s.advance(1)
			}
		default:
			return
		}
	}
}

func (s *scanner) run() {
	for {
		s.skipSpace(true)
		if s.i >= len(s.src) {
			return
		}
		if s.src[s.i] == '[' {
			s.header()
			continue
		}
		line := s.line
		key := s.key()
		if key == "" {
			s.advance(1) // not a key: skip a byte so the scanner always progresses
			continue
		}
		full := join(s.table, key)
		s.pos[full] = line
		s.skipSpace(false)
		if s.peek(1) == "=" {
			s.advance(1)
			s.skipSpace(false)
			s.value(full)
		}
	}
}

func (s *scanner) header() {
	array := s.peek(2) == "[["
	line := s.line
	if array {
		s.advance(2)
	} else {
		s.advance(1)
	}
	s.skipSpace(false)
	name := s.key()
	s.skipSpace(false)
	if array {
		n := s.arrays[name]
		s.arrays[name] = n + 1
		s.table = name + "[" + itoa(n) + "]"
		s.advance(2)
	} else {
		s.table = name
		s.advance(1)
	}
	s.pos[name] = line
	s.pos[s.table] = line
}

// key reads a possibly dotted, possibly quoted key and returns it joined by dots.
func (s *scanner) key() string {
	var parts []string
	for {
		s.skipSpace(false)
		switch s.peek(1) {
		case `"`, "'":
			parts = append(parts, s.quoted())
		default:
			start := s.i
			for s.i < len(s.src) && isBare(s.src[s.i]) {
				s.advance(1)
			}
			if s.i == start {
				return strings.Join(parts, ".")
			}
			parts = append(parts, s.src[start:s.i])
		}
		s.skipSpace(false)
		if s.peek(1) != "." {
			return strings.Join(parts, ".")
		}
		s.advance(1)
	}
}

func isBare(c byte) bool {
	return c == '-' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// quoted reads a basic or literal string, single- or multi-line, and returns
// its raw contents (escapes are not interpreted; keys rarely need them).
func (s *scanner) quoted() string {
	q := s.peek(1)
	if s.peek(3) == q+q+q {
		s.advance(3)
		start := s.i
		for s.i < len(s.src) && s.peek(3) != q+q+q {
			if q == `"` && s.src[s.i] == '\\' {
				s.advance(1)
			}
			s.advance(1)
		}
		out := s.src[start:s.i]
		s.advance(3)
		for s.peek(1) == q { // up to two quotes may close the string
			s.advance(1)
		}
		return out
	}
	s.advance(1)
	start := s.i
	for s.i < len(s.src) && s.peek(1) != q && s.src[s.i] != '\n' {
		if q == `"` && s.src[s.i] == '\\' {
			s.advance(1)
		}
		s.advance(1)
	}
	out := s.src[start:min(s.i, len(s.src))]
	s.advance(1)
	return out
}

// value skips one value, recording the line of each element of an array and
// of each key of an inline table.
func (s *scanner) value(path string) {
	switch s.peek(1) {
	case `"`, "'":
		s.quoted()
	case "[":
		s.advance(1)
		for n := 0; ; n++ {
			s.skipSpace(true)
			if s.i >= len(s.src) || s.peek(1) == "]" {
				s.advance(1)
				return
			}
			el := path + "[" + itoa(n) + "]"
			s.pos[el] = s.line
			start := s.i
			s.value(el)
			if s.i == start {
				s.advance(1) // stray byte in invalid input: always progress
			}
			s.skipSpace(true)
			if s.peek(1) == "," {
				s.advance(1)
			}
		}
	case "{":
		s.advance(1)
		for s.i < len(s.src) {
			s.skipSpace(true)
			if s.i >= len(s.src) || s.peek(1) == "}" {
				s.advance(1)
				return
			}
			line := s.line
			k := s.key()
			if k == "" {
				s.advance(1)
				continue
			}
			s.pos[join(path, k)] = line
			s.skipSpace(false)
			if s.peek(1) == "=" {
				s.advance(1)
				s.skipSpace(false)
				s.value(join(path, k))
			}
			s.skipSpace(true)
			if s.peek(1) == "," {
				s.advance(1)
			}
		}
	default:
		for s.i < len(s.src) {
			c := s.src[s.i]
			if c == ',' || c == ']' || c == '}' || c == '\n' || c == '#' {
				return
			}
			s.advance(1)
		}
	}
}

func join(table, key string) string {
	if table == "" {
		return key
	}
	return table + "." + key
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// line returns the line of key, falling back to its closest recorded parent.
func (p positions) line(key string) int {
	for k := key; k != ""; {
		if l, ok := p[k]; ok {
			return l
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}
