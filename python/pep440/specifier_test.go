package pep440

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Cases from PEP 440 "Version specifiers" and its examples.
func TestSpecifierSetContains(t *testing.T) {
	tests := []struct {
		version, spec string
		contains      bool // PEP 440 default pre-release rule
		match         bool // pre-releases admitted
	}{
		// Version matching, padding and prefix matching.
		{"2.0", "==2", true, true},
		{"2.0", "==2.0.0", true, true},
		{"2.0", "==2.*", true, true},
		{"2.0.0", "==2.0.*", true, true},
		{"2.1", "==2.0.*", false, false},
		{"2.0", "==2.0.0.*", true, true},
		{"2.0rc1", "==2.0.*", false, true},
		{"2.0.post1", "==2.0.*", true, true},
		{"2.1+local.version", "==2.1.*", true, true},
		{"2.0", "!=2.0.*", false, false},
		{"2.1", "!=2.0.*", true, true},
		{"1!2.0", "==2.*", false, false},
		{"1!2.0", "==1!2.*", true, true},
		{"1.1", "== 1.1.post1", false, false},
		{"1.1.post1", "==1.1.post1", true, true},
		// Local versions: a public specifier ignores the label.
		{"2.4.1+cu121", "==2.4.1", true, true},
		{"2.4.1+cu121", "==2.4.1+cu121", true, true},
		{"2.4.1+cu118", "==2.4.1+cu121", false, false},
		{"2.4.1", "==2.4.1+cu121", false, false},
		{"2.4.1+cu121", "!=2.4.1", false, false},
		{"2.4.1+cu121", "!=2.4.1+cu118", true, true},
		{"2.4.1+cu121", ">=2.4.1", true, true},
		{"2.4.1+cu121", "<=2.4.1", true, true},
		{"2.4.1+cu121", ">2.4.1", false, false},
		{"2.4.1+cu121", "<2.4.1", false, false},
		// Compatible release.
		{"2.2", "~=2.2", true, true},
		{"2.9.9", "~=2.2", true, true},
		{"3.0", "~=2.2", false, false},
		{"1.4.5", "~=1.4.5a4", true, true},
		{"1.4.5a5", "~=1.4.5a4", true, true},
		{"1.5", "~=1.4.5a4", false, false},
		{"2.2.post3", "~=2.2.post3", true, true},
		{"2.3", "~=2.2.post3", true, true},
		{"2.2.0", "~=2.2.0", true, true},
		{"2.3.0", "~=2.2.0", false, false},
		{"1!2.3", "~=1!2.2", true, true},
		{"2.3", "~=1!2.2", false, false},
		// Exclusive ordered comparisons.
		{"1.7.1", ">1.7", true, true},
		{"1.7.0.post1", ">1.7", false, false},
		{"1.7.0+local", ">1.7", false, false},
		{"1.7.1", ">1.7.post2", true, true},
		{"1.7.0.post3", ">1.7.post2", true, true},
		{"3.0.dev1", "<3.0", false, false},
		{"3.0a1", "<3.0", false, false},
		{"3.0rc1", "<3.0", false, false},
		{"2.9", "<3", true, true},
		{"2.9a1", "<3", false, true},
		{"3.0a1", "<3.0rc1", false, true}, // as in pip: < and > do not admit pre-releases
		{"3.0.dev1", "<3.0rc1", false, true},
		{"3.0a1", "<=3.0rc1", true, true},
		// Inclusive ordered comparisons and pre-releases.
		{"3.0a1", ">=2.0", false, true},
		{"3.0a1", ">=3.0a1", true, true},
		{"3.0", ">=3.0a1", true, true},
		{"2.0.dev1", "<=2.0", false, true},
		{"1!1.0", ">=2.0", true, true},
		{"1.0", "<=1!0.1", true, true},
		// Arbitrary equality compares text.
		{"1.0", "===1.0", true, true},
		{"1.0.0", "===1.0", false, false},
		{"1.0+Local", "===1.0+local", true, true},
		// Sets.
		{"2.5", ">=2.4,<3,!=2.4.2", true, true},
		{"2.4.2", ">=2.4,<3,!=2.4.2", false, false},
		{"3.0", ">=2.4,<3,!=2.4.2", false, false},
		{"3.0b1", ">=2.4,<3.1,!=3.0a1", false, true},
		{"3.0b1", ">=2.4,<3.1b1", false, true},
		{"3.0b1", ">=2.4b1,<3.1", true, true},
		{"1.0", "", true, true},
		{"1.0a1", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.version+tt.spec, func(t *testing.T) {
			set, err := ParseSpecifierSet(tt.spec)
			if err != nil {
				t.Fatalf("ParseSpecifierSet(%q): %v", tt.spec, err)
			}
			v := MustParseVersion(tt.version)
			if got := set.Contains(v); got != tt.contains {
				t.Errorf("%q.Contains(%s) = %t, want %t", tt.spec, tt.version, got, tt.contains)
			}
			if got := set.Match(v); got != tt.match {
				t.Errorf("%q.Match(%s) = %t, want %t", tt.spec, tt.version, got, tt.match)
			}
		})
	}
}

func TestParseSpecifierRejects(t *testing.T) {
	for _, in := range []string{
		"1.0", "=1.0", "=>1.0", "~=1", "~=1.*", ">=1.0.*", "<1.0.*", "==1.0a1.*", "==1.0+local.*",
		"<1.0+local", ">=1.0+local", "~=1.0+local", "==", ">= ", "==1.0,", ",", ">=1.0,,<2", "== 1.0 1", "===a b",
		"==1.0.*.*", "==*",
	} {
		t.Run(in, func(t *testing.T) {
			if s, err := ParseSpecifierSet(in); err == nil {
				t.Fatalf("ParseSpecifierSet(%q) = %v, want error", in, s)
			} else if !errors.Is(err, ErrInvalidSpecifier) {
				t.Errorf("error %v does not wrap ErrInvalidSpecifier", err)
			}
		})
	}
}

func TestSpecifierSetString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{" <3 , >= 2.4.0 ", "<3,>=2.4.0"},
		{"==2.4.*", "==2.4.*"},
		{"~=1.0RC1", "~=1.0rc1"},
		{"===Foo-Bar", "===Foo-Bar"},
		{"!=1.0-1", "!=1.0.post1"},
		{">=1,>=1.0", ">=1,>=1.0"},
		{">=1,>=1", ">=1"},
	}
	for _, tt := range tests {
		set, err := ParseSpecifierSet(tt.in)
		if err != nil {
			t.Fatalf("ParseSpecifierSet(%q): %v", tt.in, err)
		}
		if got := set.String(); got != tt.want {
			t.Errorf("ParseSpecifierSet(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSpecifierSetFilter(t *testing.T) {
	vs := func(ss ...string) []Version {
		var out []Version
		for _, s := range ss {
			out = append(out, MustParseVersion(s))
		}
		return out
	}
	str := func(vs []Version) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.String())
		}
		return out
	}
	tests := []struct {
		spec string
		in   []Version
		want []string
	}{
		{">=1.0", vs("0.9", "1.0", "1.1a1", "1.1"), []string{"1.0", "1.1"}},
		{">=1.5", vs("1.0", "2.0a1", "2.0b1"), []string{"2.0a1", "2.0b1"}},
		{">=1.1a1", vs("1.0", "1.1a1", "1.1"), []string{"1.1a1", "1.1"}},
		{">=3", vs("1.0", "2.0a1"), nil},
	}
	for _, tt := range tests {
		got := str(MustParseSpecifierSet(tt.spec).Filter(tt.in))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Filter(%q) (-want +got):\n%s", tt.spec, diff)
		}
	}
}
