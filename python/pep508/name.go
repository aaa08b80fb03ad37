package pep508

import "strings"

// NormalizeName returns the PEP 503 normalised form of a project name (or an
// extra name, PEP 685): lower case, with each run of '-', '_' and '.'
// replaced by one '-'. "Jinja2", "jinja2" and "JINJA_2" do not collide, but
// "Foo.Bar" and "foo__bar" normalise to "foo-bar".
//
// It runs for every file of every index page a lock reads, so it avoids
// regular expressions, and a name already normalised is returned as is.
func NormalizeName(name string) string {
	if normalized(name) {
		return name
	}
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for _, r := range strings.ToLower(name) {
		if r == '-' || r == '_' || r == '.' {
			sep = true
			continue
		}
		if sep {
			b.WriteByte('-')
			sep = false
		}
		b.WriteRune(r)
	}
	if sep {
		b.WriteByte('-')
	}
	return b.String()
}

// normalized reports whether name is ASCII and already in normal form.
func normalized(name string) bool {
	prev := byte(0)
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if prev == '-' {
				return false
			}
		case c < 0x80 && !(c >= 'A' && c <= 'Z') && c != '_' && c != '.':
			// Other ASCII is kept as it is.
		default:
			return false
		}
		prev = c
	}
	return true
}

// ValidName reports whether name is a valid project name: ASCII letters and
// digits, with '-', '_' and '.' allowed only inside.
func ValidName(name string) bool {
	if name == "" || !alnum(name[0]) || !alnum(name[len(name)-1]) {
		return false
	}
	for i := 1; i < len(name)-1; i++ {
		if c := name[i]; !alnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
