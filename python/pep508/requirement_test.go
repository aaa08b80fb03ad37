package pep508

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hfpack/hfpack/python/pep440"
)

// The examples from PEP 508's "Complete Grammar" test section, plus the
// requirements a Hugging Face manifest typically holds.
func TestParseRequirement(t *testing.T) {
	tests := []struct {
		in                      string
		name, spec, url, marker string
		extras                  []string
		canonical               string
	}{
		{in: "A", name: "A", canonical: "A"},
		{in: "A.B-C_D", name: "A.B-C_D", canonical: "A.B-C_D"},
		{in: "aa", name: "aa", canonical: "aa"},
		{in: "name<=1", name: "name", spec: "<=1", canonical: "name<=1"},
		{in: "name>=3", name: "name", spec: ">=3", canonical: "name>=3"},
		{in: "name>=3,<2", name: "name", spec: "<2,>=3", canonical: "name<2,>=3"},
		{in: "name@http://foo.com", name: "name", url: "http://foo.com", canonical: "name @ http://foo.com"},
		{
			in: "name [fred,bar] @ http://foo.com ; python_version=='2.7'", name: "name", extras: []string{"bar", "fred"},
			url: "http://foo.com", marker: `python_version == "2.7"`,
			canonical: `name[bar,fred] @ http://foo.com ; python_version == "2.7"`,
		},
		{
			in: "name[quux, strange];python_version<'2.7' and platform_version=='2'", name: "name",
			extras: []string{"quux", "strange"}, marker: `python_version < "2.7" and platform_version == "2"`,
			canonical: `name[quux,strange] ; python_version < "2.7" and platform_version == "2"`,
		},
		{in: "name; os_name=='a' or os_name=='b'", name: "name", marker: `os_name == "a" or os_name == "b"`},
		{in: "name; os_name=='a' and os_name=='b' or os_name=='c'", name: "name", marker: `os_name == "a" and os_name == "b" or os_name == "c"`},
		{in: "name; os_name=='a' and (os_name=='b' or os_name=='c')", name: "name", marker: `os_name == "a" and (os_name == "b" or os_name == "c")`},
		{in: "name; os_name=='a' or os_name=='b' and os_name=='c'", name: "name", marker: `os_name == "a" or os_name == "b" and os_name == "c"`},
		{in: "name; (os_name=='a' or os_name=='b') and os_name=='c'", name: "name", marker: `(os_name == "a" or os_name == "b") and os_name == "c"`},
		{in: "name (>=1.0, <2)", name: "name", spec: "<2,>=1.0", canonical: "name<2,>=1.0"},
		{in: "  torch == 2.4.1+cu121  ", name: "torch", spec: "==2.4.1+cu121", canonical: "torch==2.4.1+cu121"},
		{in: "Transformers[Torch,SentencePiece]~=4.46.0", name: "Transformers", spec: "~=4.46.0", extras: []string{"sentencepiece", "torch"}, canonical: "Transformers[sentencepiece,torch]~=4.46.0"},
		{in: "name[]", name: "name", canonical: "name"},
		{in: `nvidia-cublas-cu12==12.1.3.1; platform_system == "Linux" and platform_machine == "x86_64"`, name: "nvidia-cublas-cu12", spec: "==12.1.3.1", marker: `platform_system == "Linux" and platform_machine == "x86_64"`},
		{in: `pywin32>=1.0; sys.platform == 'win32'`, name: "pywin32", spec: ">=1.0", marker: `sys_platform == "win32"`},
		{in: `tqdm; extra == "Progress_Bar"`, name: "tqdm", marker: `extra == "Progress_Bar"`},
		{in: `x; "linux" in sys_platform`, name: "x", marker: `"linux" in sys_platform`},
		{in: `x; platform_machine not in "x86_64 aarch64"`, name: "x", marker: `platform_machine not in "x86_64 aarch64"`},
		{in: `x; python_version>"3.8"and python_version<"4"`, name: "x", marker: `python_version > "3.8" and python_version < "4"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseRequirement(tt.in)
			if err != nil {
				t.Fatalf("ParseRequirement(%q): %v", tt.in, err)
			}
			got := []string{r.Name, r.Specifier.String(), r.URL, ""}
			if r.Marker != nil {
				got[3] = r.Marker.String()
			}
			want := []string{tt.name, tt.spec, tt.url, tt.marker}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("name, spec, url, marker (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.extras, r.Extras); diff != "" {
				t.Errorf("extras (-want +got):\n%s", diff)
			}
			if tt.canonical != "" && r.String() != tt.canonical {
				t.Errorf("String() = %q, want %q", r.String(), tt.canonical)
			}
			again, err := ParseRequirement(r.String())
			if err != nil {
				t.Fatalf("canonical form %q does not parse: %v", r.String(), err)
			}
			if again.String() != r.String() {
				t.Errorf("round trip: %q became %q", r.String(), again.String())
			}
		})
	}
}

// Precedence: and binds tighter than or.
func TestMarkerPrecedence(t *testing.T) {
	m := MustParseMarker(`os_name=='a' or os_name=='b' and os_name=='c'`)
	or, ok := m.(*Or)
	if !ok {
		t.Fatalf("top node is %T, want *Or", m)
	}
	if _, ok := or.Right.(*And); !ok {
		t.Errorf("right of or is %T, want *And", or.Right)
	}
	for env, want := range map[string]bool{"a": true, "b": false, "c": false} {
		if got := m.Evaluate(Environment{OSName: env}); got != want {
			t.Errorf("os_name=%s: Evaluate = %t, want %t", env, got, want)
		}
	}
}

func TestParseRequirementErrors(t *testing.T) {
	tests := []struct {
		in     string
		column int
		msg    string
	}{
		{"", 1, "expected a project name, found the end"},
		{">=1.0", 1, `expected a project name, found ">=1.0"`},
		{"-foo", 1, `invalid project name "-foo"`},
		{"foo-", 1, `invalid project name "foo-"`},
		{"foo >=", 5, `no version after >=`},
		{"foo>=1.0,", 10, "empty version specifier clause"},
		{"foo 1.0", 5, "must start with one of"},
		{"foo>=1.0 2", 4, `"1.0 2" is not a PEP 440 version`},
		{"foo (>=1.0", 5, `expected ")" to close`},
		{"foo (>=1.0) bar", 13, `unexpected "bar"`},
		{"foo[bar", 4, `expected "]" to close the extras`},
		{"foo[bar baz]", 9, `expected "," or "]"`},
		{"foo[,]", 5, "expected the name of an extra"},
		{"foo ; ", 5, `expected a marker after ";"`},
		{"foo ; python_version", 21, "expected a comparison operator, found the end"},
		{"foo ; python_version >= ", 25, "found the end"},
		{"foo ; python_versio >= '3'", 7, `unknown marker variable "python_versio"`},
		{"foo ; python_version >= '3", 25, "unterminated string"},
		{"foo ; (python_version >= '3'", 29, `expected ")" to close the "(" at column 7`},
		{"foo ; python_version >= '3' and", 32, "found the end"},
		{"foo ; python_version >= '3' xor os_name == 'posix'", 29, `unexpected "xor`},
		{"foo ; '3' == '3'", 7, "compares two strings"},
		{"foo ; os_name not 'posix'", 15, `expected "in" after "not"`},
		{"foo @ ", 7, `expected a URL after "@"`},
		{"foo @ http://x baz", 16, `unexpected "baz" after the URL`},
		{"foo>=1.0.*", 4, "prefix match"},
		{"foo ~= 1", 5, "~= needs at least two release segments"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseRequirement(tt.in)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseRequirement(%q) error = %v, want *SyntaxError", tt.in, err)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("error does not wrap ErrSyntax")
			}
			if se.Column != tt.column || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("ParseRequirement(%q) = column %d %q, want column %d containing %q", tt.in, se.Column, se.Msg, tt.column, tt.msg)
			}
			if !strings.Contains(err.Error(), "column") {
				t.Errorf("Error() = %q does not name the column", err)
			}
		})
	}
}

func TestParseRequirementWrapsSpecifierError(t *testing.T) {
	_, err := ParseRequirement("foo>=bar")
	if !errors.Is(err, pep440.ErrInvalidSpecifier) {
		t.Errorf("error %v does not wrap pep440.ErrInvalidSpecifier", err)
	}
}

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"Django": "django", "friendly-bard": "friendly-bard", "Friendly-Bard": "friendly-bard",
		"FRIENDLY-BARD": "friendly-bard", "friendly.bard": "friendly-bard", "friendly_bard": "friendly-bard",
		"friendly--bard": "friendly-bard", "FrIeNdLy-._.-bArD": "friendly-bard", "nvidia_cublas_cu12": "nvidia-cublas-cu12",
	} {
		if got := NormalizeName(in); got != want {
			t.Errorf("NormalizeName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]bool{"a": true, "a-b": true, "a.b_c-1": true, "-a": false, "a-": false, "": false, "a b": false, "ä": false, "\u212a": false, "\u017f": false} {
		if got := ValidName(in); got != want {
			t.Errorf("ValidName(%q) = %t, want %t", in, got, want)
		}
	}
}
