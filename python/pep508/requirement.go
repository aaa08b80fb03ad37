package pep508

import (
	"slices"
	"strings"

	"github.com/hfpack/hfpack/python/pep440"
)

// Requirement is a parsed PEP 508 dependency specifier, e.g.
// `transformers[torch]>=4.40,<5 ; python_version >= "3.9"`.
type Requirement struct {
	// Name is the project name as written; see NormalizedName.
	Name string
	// Extras are the requested extras, normalised (PEP 685), sorted and
	// without duplicates.
	Extras []string
	// Specifier constrains the version; empty for any version and for URL
	// requirements.
	Specifier pep440.SpecifierSet
	// URL is set for a direct reference (`name @ https://…/x.whl`); such a
	// requirement has no Specifier. Callers that resolve from an index must
	// reject it or handle it separately.
	URL string
	// Marker, when not nil, limits the requirement to environments where it
	// evaluates true.
	Marker Marker
}

// NormalizedName returns the PEP 503 normalised project name.
func (r Requirement) NormalizedName() string { return NormalizeName(r.Name) }

// String returns the requirement in canonical form:
// `name[extra1,extra2]<spec> ; marker` or `name @ url ; marker`.
func (r Requirement) String() string {
	var b strings.Builder
	b.WriteString(r.Name)
	if len(r.Extras) > 0 {
		b.WriteString("[" + strings.Join(r.Extras, ",") + "]")
	}
	if r.URL != "" {
		b.WriteString(" @ " + r.URL) // the " ; " below keeps the URL apart
	} else {
		b.WriteString(r.Specifier.String())
	}
	if r.Marker != nil {
		b.WriteString(" ; " + r.Marker.String())
	}
	return b.String()
}

// ParseRequirement parses one PEP 508 requirement. Errors are
// *SyntaxError values that give the column of the problem.
func ParseRequirement(s string) (Requirement, error) {
	p := &parser{in: s}
	var r Requirement
	var err error
	if r.Name, err = p.name(); err != nil {
		return Requirement{}, err
	}
	p.space()
	if p.peek() == '[' {
		if r.Extras, err = p.extras(); err != nil {
			return Requirement{}, err
		}
		p.space()
	}
	switch p.peek() {
	case '@':
		p.pos++
		if r.URL, err = p.url(); err != nil {
			return Requirement{}, err
		}
	default:
		if r.Specifier, err = p.versionSpec(); err != nil {
			return Requirement{}, err
		}
	}
	p.space()
	switch {
	case p.eof():
		return r, nil
	case p.peek() != ';':
		return Requirement{}, p.errorf(p.pos, "unexpected %q; expected \";\" and a marker, or the end", p.rest(12))
	}
	semi := p.pos
	p.pos++
	p.space()
	if p.eof() {
		return Requirement{}, p.errorf(semi, "expected a marker after \";\"")
	}
	if r.Marker, err = p.marker(); err != nil {
		return Requirement{}, err
	}
	return r, nil
}

// MustParseRequirement is ParseRequirement for constants; it panics on
// error.
func MustParseRequirement(s string) Requirement {
	r, err := ParseRequirement(s)
	if err != nil {
		panic(err)
	}
	return r
}

func (p *parser) name() (string, error) {
	p.space()
	start := p.pos
	for !p.eof() && (isIdentByte(p.peek()) || p.peek() == '-' || p.peek() == '.') {
		p.pos++
	}
	name := p.in[start:p.pos]
	switch {
	case name == "" && p.eof():
		return "", p.errorf(start, "expected a project name, found the end")
	case name == "":
		return "", p.errorf(start, "expected a project name, found %q", p.rest(8))
	case !ValidName(name):
		return "", p.errorf(start, "invalid project name %q: it must start and end with a letter or digit", name)
	}
	return name, nil
}

func (p *parser) extras() ([]string, error) {
	open := p.pos
	p.pos++ // '['
	var extras []string
	for {
		p.space()
		if p.peek() == ']' && len(extras) == 0 {
			p.pos++
			return nil, nil
		}
		start := p.pos
		for !p.eof() && (isIdentByte(p.peek()) || p.peek() == '-' || p.peek() == '.') {
			p.pos++
		}
		name := p.in[start:p.pos]
		if !ValidName(name) {
			if p.eof() {
				return nil, p.errorf(open, "expected \"]\" to close the extras")
			}
			return nil, p.errorf(start, "expected the name of an extra, found %q", p.rest(8))
		}
		extras = append(extras, NormalizeName(name))
		p.space()
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
			p.pos++
			slices.Sort(extras)
			return slices.Compact(extras), nil
		default:
			if p.eof() {
				return nil, p.errorf(open, "expected \"]\" to close the extras")
			}
			return nil, p.errorf(p.pos, "expected \",\" or \"]\" in the extras, found %q", p.rest(8))
		}
	}
}

func (p *parser) url() (string, error) {
	p.space()
	start := p.pos
	for !p.eof() && p.peek() != ' ' && p.peek() != '\t' {
		p.pos++
	}
	u := p.in[start:p.pos]
	switch {
	case u == "":
		return "", p.errorf(start, "expected a URL after \"@\"")
	case !strings.Contains(u, ":"):
		return "", p.errorf(start, "expected a URL after \"@\", found %q", u)
	}
	if !p.eof() && strings.TrimSpace(p.in[p.pos:]) != "" && strings.TrimSpace(p.in[p.pos:])[0] != ';' {
		p.space()
		return "", p.errorf(p.pos, "unexpected %q after the URL; expected \" ;\" and a marker, or the end", p.rest(12))
	}
	return u, nil
}

// versionSpec parses `(spec, spec)` or `spec, spec` up to ';' or the end.
func (p *parser) versionSpec() (pep440.SpecifierSet, error) {
	start, end := p.pos, 0
	if p.peek() == '(' {
		close := strings.IndexByte(p.in[p.pos:], ')')
		if close < 0 {
			return nil, p.errorf(p.pos, "expected \")\" to close the version specifier")
		}
		start++
		end = p.pos + close
		p.pos = end + 1
	} else {
		end = strings.IndexByte(p.in[p.pos:], ';')
		if end < 0 {
			end = len(p.in)
		} else {
			end += p.pos
		}
		p.pos = end
	}
	text := p.in[start:end]
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var set pep440.SpecifierSet
	off := start
	for _, clause := range strings.Split(text, ",") {
		at := off + len(clause) - len(strings.TrimLeft(clause, " \t"))
		off += len(clause) + 1
		if strings.TrimSpace(clause) == "" {
			return nil, p.errorf(at, "empty version specifier clause")
		}
		sp, err := pep440.ParseSpecifier(clause)
		if err != nil {
			return nil, &SyntaxError{Input: p.in, Column: at + 1, Msg: err.Error(), Err: err}
		}
		set = append(set, sp)
	}
	return set, nil
}
