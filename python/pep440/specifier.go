package pep440

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalidSpecifier is wrapped by the errors ParseSpecifier and
// ParseSpecifierSet return.
var ErrInvalidSpecifier = errors.New("invalid version specifier")

// Operator is a PEP 440 comparison operator.
type Operator string

// The PEP 440 operators.
const (
	Compatible     Operator = "~="
	Equal          Operator = "=="
	NotEqual       Operator = "!="
	LessEqual      Operator = "<="
	GreaterEqual   Operator = ">="
	Less           Operator = "<"
	Greater        Operator = ">"
	ArbitraryEqual Operator = "==="
)

// operators in the order they must be tried when scanning (longest first).
var operators = []Operator{ArbitraryEqual, Compatible, Equal, NotEqual, LessEqual, GreaterEqual, Less, Greater}

// Specifier is one clause of a specifier set, e.g. ">=2.4" or "==2.*".
type Specifier struct {
	// Op is the comparison operator.
	Op Operator
	// Version is the version compared against; zero for "===" clauses whose
	// text is not a valid version.
	Version Version
	// Wildcard is set for prefix matches ("==2.4.*", "!=2.4.*").
	Wildcard bool
	// Text is the version as written (without the operator and ".*"); it is
	// what "===" compares against.
	Text string
}

// ParseSpecifier parses one clause such as "~=2.2" or "== 1.4.*".
func ParseSpecifier(s string) (Specifier, error) {
	t := strings.TrimSpace(s)
	var op Operator
	for _, o := range operators {
		if strings.HasPrefix(t, string(o)) {
			op = o
			break
		}
	}
	if op == "" {
		return Specifier{}, fmt.Errorf("%w %q: must start with one of ~= == != <= >= < > ===", ErrInvalidSpecifier, s)
	}
	text := strings.TrimSpace(t[len(op):])
	if text == "" {
		return Specifier{}, fmt.Errorf("%w %q: no version after %s", ErrInvalidSpecifier, s, op)
	}
	sp := Specifier{Op: op, Text: text}
	if op == ArbitraryEqual {
		if strings.ContainsAny(text, " \t;)") {
			return Specifier{}, fmt.Errorf("%w %q: white space in === version", ErrInvalidSpecifier, s)
		}
		sp.Version, _ = ParseVersion(text)
		return sp, nil
	}
	if (op == Equal || op == NotEqual) && strings.HasSuffix(text, ".*") {
		sp.Wildcard = true
		sp.Text = text[:len(text)-2]
	}
	if !sp.Wildcard && strings.HasSuffix(text, ".*") {
		return Specifier{}, fmt.Errorf("%w %q: a .* prefix match is only allowed with == and !=", ErrInvalidSpecifier, s)
	}
	v, err := ParseVersion(sp.Text)
	if err != nil || strings.ContainsAny(sp.Text, " \t") {
		return Specifier{}, fmt.Errorf("%w %q: %q is not a PEP 440 version", ErrInvalidSpecifier, s, sp.Text)
	}
	sp.Version = v
	switch {
	case sp.Wildcard && (v.preL != "" || v.hasPost || v.hasDev || len(v.local) > 0):
		return Specifier{}, fmt.Errorf("%w %q: a .* prefix match allows only an epoch and release segment", ErrInvalidSpecifier, s)
	case op == Compatible && len(v.release) < 2:
		return Specifier{}, fmt.Errorf("%w %q: ~= needs at least two release segments (~=2.2, not ~=2)", ErrInvalidSpecifier, s)
	case len(v.local) > 0 && op != Equal && op != NotEqual:
		return Specifier{}, fmt.Errorf("%w %q: a local version label is only allowed with == and !=", ErrInvalidSpecifier, s)
	}
	return sp, nil
}

// String returns the clause in canonical form, e.g. ">=2.4" or "==2.4.*".
func (s Specifier) String() string {
	switch {
	case s.Op == ArbitraryEqual:
		return string(s.Op) + s.Text
	case s.Wildcard:
		return string(s.Op) + s.Version.String() + ".*"
	}
	return string(s.Op) + s.Version.String()
}

// NamesPrerelease reports whether the clause's own version is a pre-release
// with an inclusive operator (">=2.0b1", "==2.0rc1", "~=2.0a1"), which
// admits pre-releases under PEP 440's default rule. As in pip's packaging,
// "!=", "<" and ">" clauses never do: "<2.0rc1" excludes 2.0a1 by default.
func (s Specifier) NamesPrerelease() bool {
	switch s.Op {
	case NotEqual, Less, Greater:
		return false
	}
	return !s.Version.IsZero() && s.Version.IsPrerelease()
}

// Match reports whether v satisfies the clause, by PEP 440's operator
// semantics and ignoring the pre-release admission rule (see
// SpecifierSet.Contains).
func (s Specifier) Match(v Version) bool {
	switch s.Op {
	case ArbitraryEqual:
		return strings.EqualFold(v.orig, s.Text) || strings.EqualFold(v.String(), s.Text)
	case Equal:
		return s.equal(v)
	case NotEqual:
		return !s.equal(v)
	case LessEqual:
		return v.Public().Compare(s.Version) <= 0
	case GreaterEqual:
		return v.Public().Compare(s.Version) >= 0
	case Less:
		// <V excludes pre-releases of V unless V is one itself.
		return v.Compare(s.Version) < 0 &&
			!(!s.Version.IsPrerelease() && v.IsPrerelease() && v.BaseVersion().Equal(s.Version.BaseVersion()))
	case Greater:
		// >V excludes post-releases and local versions of V unless V is a
		// post-release itself.
		if v.Compare(s.Version) <= 0 {
			return false
		}
		same := v.BaseVersion().Equal(s.Version.BaseVersion())
		if !s.Version.IsPostrelease() && v.IsPostrelease() && same {
			return false
		}
		return !(len(v.local) > 0 && same)
	case Compatible:
		prefix := Specifier{Op: Equal, Wildcard: true, Version: Version{
			epoch: s.Version.epoch, release: s.Version.release[:len(s.Version.release)-1]}}
		return v.Public().Compare(s.Version) >= 0 && prefix.Match(v)
	}
	return false
}

func (s Specifier) equal(v Version) bool {
	if s.Wildcard {
		if v.epoch != s.Version.epoch {
			return false
		}
		for i, want := range s.Version.release {
			var got uint64
			if i < len(v.release) {
				got = v.release[i]
			}
			if got != want {
				return false
			}
		}
		return true
	}
	if len(s.Version.local) == 0 {
		v = v.Public()
	}
	return v.Compare(s.Version) == 0
}

// SpecifierSet is a conjunction of clauses, e.g. ">=2.4,<3". The empty set
// matches every version.
type SpecifierSet []Specifier

// ParseSpecifierSet parses comma-separated clauses. The empty string (or
// only white space) is the empty set.
func ParseSpecifierSet(s string) (SpecifierSet, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var set SpecifierSet
	for _, part := range strings.Split(s, ",") {
		sp, err := ParseSpecifier(part)
		if err != nil {
			return nil, err
		}
		set = append(set, sp)
	}
	return set, nil
}

// MustParseSpecifierSet is ParseSpecifierSet for constants; it panics on
// error.
func MustParseSpecifierSet(s string) SpecifierSet {
	set, err := ParseSpecifierSet(s)
	if err != nil {
		panic(err)
	}
	return set
}

// String returns the clauses in canonical form, sorted and joined by
// commas, so equal sets print equally.
func (s SpecifierSet) String() string {
	parts := make([]string, len(s))
	for i, sp := range s {
		parts[i] = sp.String()
	}
	slices.Sort(parts)
	return strings.Join(slices.Compact(parts), ",")
}

// NamesPrerelease reports whether any clause names a pre-release, which
// under PEP 440 admits pre-releases for the whole set.
func (s SpecifierSet) NamesPrerelease() bool {
	return slices.ContainsFunc(s, Specifier.NamesPrerelease)
}

// Match reports whether v satisfies every clause, admitting pre-releases.
// Use it where pre-releases were explicitly allowed (a policy flag, or
// environment markers, which PEP 508 evaluates that way).
func (s SpecifierSet) Match(v Version) bool {
	for _, sp := range s {
		if !sp.Match(v) {
			return false
		}
	}
	return true
}

// Contains reports whether v satisfies every clause under PEP 440's default
// rule: a pre-release (or development release) is admitted only when some
// clause names a pre-release.
func (s SpecifierSet) Contains(v Version) bool {
	if v.IsPrerelease() && !s.NamesPrerelease() {
		return false
	}
	return s.Match(v)
}

// Filter returns the versions in vs that s contains, in their original
// order. Following PEP 440, when no final release matches but pre-releases
// do, the pre-releases are returned.
func (s SpecifierSet) Filter(vs []Version) []Version {
	var out, pre []Version
	for _, v := range vs {
		switch {
		case s.Contains(v):
			out = append(out, v)
		case v.IsPrerelease() && s.Match(v):
			pre = append(pre, v)
		}
	}
	if len(out) == 0 {
		return pre
	}
	return out
}
