package pep440

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseVersion parses s as a PEP 440 version. Leading and trailing white
// space is ignored, as are case and the spelling variants the PEP allows
// (the grammar of the PEP's appendix regular expression, ASCII only).
func ParseVersion(s string) (Version, error) {
	t := strings.TrimSpace(s)
	p := versionParser{in: t, orig: s}
	v, ok := p.parse()
	if p.err != nil {
		return Version{}, p.err
	}
	if !ok {
		return Version{}, fmt.Errorf("%w %q", ErrInvalidVersion, s)
	}
	v.orig = t
	return v, nil
}

// versionParser is a hand-written matcher for PEP 440's regular
// expression; it is several times faster than regexp, which matters when
// an index page lists thousands of files. fuzz_test.go checks it against
// the regular expression.
type versionParser struct {
	in   string
	pos  int
	orig string
	err  error
}

func (p *versionParser) parse() (Version, bool) {
	var v Version
	for i := 0; i < len(p.in); i++ {
		if p.in[i] >= 0x80 {
			return v, false
		}
	}
	p.lit("v")
	n, ok := p.number()
	if !ok {
		return v, false
	}
	if p.lit("!") {
		v.epoch = n
		if n, ok = p.number(); !ok {
			return v, false
		}
	}
	v.release = append(v.release, n)
	for p.peek() == '.' && p.pos+1 < len(p.in) && isDigit(p.in[p.pos+1]) {
		p.pos++
		n, _ = p.number()
		v.release = append(v.release, n)
	}
	// Pre-release: [-_.]? label [-_.]? digits?
	save := p.pos
	p.sep()
	if label, ok := p.label("alpha", "a", "beta", "b", "preview", "pre", "c", "rc"); ok {
		v.preL = normalisePre(label)
		v.preN = p.optNumber()
	} else {
		p.pos = save
	}
	// Post-release: -digits, or [-_.]? label [-_.]? digits?
	save = p.pos
	if p.lit("-") && p.pos < len(p.in) && isDigit(p.in[p.pos]) {
		v.hasPost = true
		v.postN, _ = p.number()
	} else {
		p.pos = save
		p.sep()
		if _, ok := p.label("post", "rev", "r"); ok {
			v.hasPost = true
			v.postN = p.optNumber()
		} else {
			p.pos = save
		}
	}
	// Development release: [-_.]? dev [-_.]? digits?
	save = p.pos
	p.sep()
	if _, ok := p.label("dev"); ok {
		v.hasDev = true
		v.devN = p.optNumber()
	} else {
		p.pos = save
	}
	if p.lit("+") {
		local, ok := p.local()
		if !ok {
			return v, false
		}
		v.local = local
	}
	return v, p.pos == len(p.in) && p.err == nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func (p *versionParser) peek() byte {
	if p.pos < len(p.in) {
		return lower(p.in[p.pos])
	}
	return 0
}

// lit consumes a case-insensitive literal.
func (p *versionParser) lit(s string) bool {
	if len(p.in)-p.pos < len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower(p.in[p.pos+i]) != s[i] {
			return false
		}
	}
	p.pos += len(s)
	return true
}

// label consumes the first of labels that matches.
func (p *versionParser) label(labels ...string) (string, bool) {
	for _, l := range labels {
		if p.lit(l) {
			return l, true
		}
	}
	return "", false
}

func (p *versionParser) sep() {
	if c := p.peek(); c == '-' || c == '_' || c == '.' {
		p.pos++
	}
}

func (p *versionParser) number() (uint64, bool) {
	start := p.pos
	for p.pos < len(p.in) && isDigit(p.in[p.pos]) {
		p.pos++
	}
	if start == p.pos {
		return 0, false
	}
	n, err := strconv.ParseUint(p.in[start:p.pos], 10, 64)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("%w %q: number %s too large", ErrInvalidVersion, p.orig, p.in[start:p.pos])
	}
	return n, true
}

// optNumber consumes [-_.]? digits?; an absent number is 0. (The PEP's
// expression accepts a trailing separator: "1.0a-" is 1.0a0.)
func (p *versionParser) optNumber() uint64 {
	p.sep()
	n, _ := p.number()
	return n
}

// local consumes [a-z0-9]+([-_.][a-z0-9]+)*.
func (p *versionParser) local() ([]localSegment, bool) {
	var segs []localSegment
	for {
		start := p.pos
		for p.pos < len(p.in) && (isDigit(p.in[p.pos]) || lower(p.in[p.pos]) >= 'a' && lower(p.in[p.pos]) <= 'z') {
			p.pos++
		}
		if start == p.pos {
			return nil, false
		}
		part := strings.ToLower(p.in[start:p.pos])
		if strings.Trim(part, "0123456789") == "" {
			n, err := strconv.ParseUint(part, 10, 64)
			if err != nil {
				p.err = fmt.Errorf("%w %q: local segment %s too large", ErrInvalidVersion, p.orig, part)
				return nil, false
			}
			segs = append(segs, localSegment{isNum: true, num: n})
		} else {
			segs = append(segs, localSegment{str: part})
		}
		if p.pos == len(p.in) {
			return segs, true
		}
		if c := p.in[p.pos]; c != '-' && c != '_' && c != '.' {
			return segs, true
		}
		p.pos++
	}
}
