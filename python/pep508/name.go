package pep508

import (
	"regexp"
	"strings"
)

var (
	validName = regexp.MustCompile(`(?i)^([a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)
	nameSeps  = regexp.MustCompile(`[-_.]+`)
)

// NormalizeName returns the PEP 503 normalised form of a project name (or an
// extra name, PEP 685): lower case, with each run of '-', '_' and '.'
// replaced by one '-'. "Jinja2", "jinja2" and "JINJA_2" do not collide, but
// "Foo.Bar" and "foo__bar" normalise to "foo-bar".
func NormalizeName(name string) string {
	return nameSeps.ReplaceAllString(strings.ToLower(name), "-")
}

// ValidName reports whether name is a valid project name: ASCII letters and
// digits, with '-', '_' and '.' allowed only inside.
func ValidName(name string) bool { return validName.MatchString(name) }
