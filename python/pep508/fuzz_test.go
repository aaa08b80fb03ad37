package pep508

import (
	"regexp"
	"strings"
	"testing"
)

var requirementSeeds = []string{
	"A", "name>=3,<2", "name@http://foo.com", "name [fred,bar] @ http://foo.com ; python_version=='2.7'",
	"name[quux, strange];python_version<'2.7' and platform_version=='2'",
	"name; (os_name=='a' or os_name=='b') and os_name=='c'", "torch==2.4.1+cu121; extra == 'gpu'",
	"foo (>=1.0", "foo[", "foo[bar", "foo ; ", "foo ; (((((((", "foo ; 'a' == 'b'", "foo @", "foo @ x:y;z",
	"foo ; os_name not in 'posix'", "foo ; python_version >= '3' and", "\x00", "foo;os_name=='\"'", "foo===ä",
	"foo ; python_version ~= 'x'", "-", "a-", "a[b,,c]", "a (==1) ; os_name", "a ; os_name == 'x' or",
}

func FuzzParseRequirement(f *testing.F) {
	for _, s := range requirementSeeds {
		f.Add(s)
	}
	for _, s := range realWorldRequirements(f) {
		f.Add(s)
	}
	env := LinuxEnvironment("3.11.10", "x86_64")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRequirement(s)
		if err != nil {
			return
		}
		canon := r.String()
		again, err := ParseRequirement(canon)
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", canon, s, err)
		}
		if again.String() != canon {
			t.Fatalf("round trip %q -> %q -> %q", s, canon, again)
		}
		if r.Marker != nil && r.Marker.Evaluate(env) != again.Marker.Evaluate(env) {
			t.Fatalf("marker of %q evaluates differently after a round trip", s)
		}
	})
}

func FuzzParseMarker(f *testing.F) {
	for _, s := range []string{
		`python_version >= "3.9"`, `os_name=='a' and os_name=='b' or os_name=='c'`, `(((python_version<'3')))`,
		`extra == "Foo_Bar"`, `"linux" in sys_platform`, `platform_release >= '5.1'`, `(`, `)`, `os_name ==`,
		`os_name == "a" xor`, `python_version ~= "x"`, `python_version === "3.11"`, `os.name=="posix"`,
		`"a" == "b"`, `os_name not in "x"`, `os_name notin "x"`, `os_name in`,
	} {
		f.Add(s)
	}
	envs := []Environment{LinuxEnvironment("3.11.10", "x86_64"), {Extra: "foo-bar", PlatformRelease: "5.15.0-gcp"}}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMarker(s)
		if err != nil {
			return
		}
		canon := m.String()
		again, err := ParseMarker(canon)
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", canon, s, err)
		}
		if again.String() != canon {
			t.Fatalf("round trip %q -> %q -> %q", s, canon, again)
		}
		for _, env := range envs {
			if m.Evaluate(env) != again.Evaluate(env) {
				t.Fatalf("%q and %q evaluate differently", s, canon)
			}
		}
	})
}

// The regular expressions NormalizeName and ValidName replaced: the
// hand-written versions must agree with them on every input. (The old
// ValidName's was case-insensitive, (?i), which in Go also lets the Kelvin
// sign U+212A and the long s U+017F stand for k and s; PEP 508 names are
// ASCII, and ValidName now refuses them.)
var (
	refValidName = regexp.MustCompile(`^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$`)
	refNameSeps  = regexp.MustCompile(`[-_.]+`)
)

func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"", "a", "Django", "friendly--bard", "FrIeNdLy-._.-bArD", "-a-", "_", "..", "a b", "ä",
		"Ä_B", "\xff", "a\xffB", "K\u212a", "nvidia_cublas_cu12", "a-", "-", "A.", "x\x00y", "İ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := NormalizeName(s), refNameSeps.ReplaceAllString(strings.ToLower(s), "-"); got != want {
			t.Fatalf("NormalizeName(%q) = %q, want %q", s, got, want)
		}
		if got, want := ValidName(s), refValidName.MatchString(s); got != want {
			t.Fatalf("ValidName(%q) = %t, want %t", s, got, want)
		}
	})
}
