package pep440

import (
	"cmp"
	"errors"
	"testing"
)

// Normalisation examples from PEP 440 "Normalization".
func TestParseVersionNormalises(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1.0", "1.0"},
		{"1.1RC1", "1.1rc1"},
		{"1.0a", "1.0a0"},
		{"1.1.a1", "1.1a1"},
		{"1.0-a1", "1.0a1"},
		{"1.0_a1", "1.0a1"},
		{"1.0alpha1", "1.0a1"},
		{"1.0beta2", "1.0b2"},
		{"1.0c1", "1.0rc1"},
		{"1.0pre1", "1.0rc1"},
		{"1.0preview1", "1.0rc1"},
		{"1.0-rc.1", "1.0rc1"},
		{"1.2-post2", "1.2.post2"},
		{"1.2post2", "1.2.post2"},
		{"1.2.post", "1.2.post0"},
		{"1.0-1", "1.0.post1"},
		{"1.0rev1", "1.0.post1"},
		{"1.0r1", "1.0.post1"},
		{"1.2-dev2", "1.2.dev2"},
		{"1.2dev2", "1.2.dev2"},
		{"1.2.dev", "1.2.dev0"},
		{"1.0+ubuntu-1", "1.0+ubuntu.1"},
		{"1.0+Ubuntu_1", "1.0+ubuntu.1"},
		{"1.0+abc.007", "1.0+abc.7"},
		{"v1.0", "1.0"},
		{"V1.0", "1.0"},
		{" 1.0\n", "1.0"},
		{"00!01.002", "1.2"},
		{"1!2.0", "1!2.0"},
		{"1.0.0", "1.0.0"},
		{"2.4.1+cu121", "2.4.1+cu121"},
		{"1.0RC1.POST2.DEV3+LOCAL", "1.0rc1.post2.dev3+local"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := ParseVersion(tt.in)
			if err != nil {
				t.Fatalf("ParseVersion(%q): %v", tt.in, err)
			}
			if got := v.String(); got != tt.want {
				t.Errorf("ParseVersion(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
			again, err := ParseVersion(v.String())
			if err != nil || !again.Equal(v) || again.String() != v.String() {
				t.Errorf("canonical form %q does not round-trip: %v, %v", v, again, err)
			}
		})
	}
}

func TestParseVersionRejects(t *testing.T) {
	for _, in := range []string{
		"", " ", "a", "1.", ".1", "1..0", "1.0+", "1.0+abc-", "1.0++1", "1.0-", "1!", "!1.0",
		"1.0 a1", "1.0.dev1.post1", "1.0a1a2", "1.*", "≥1.0", "1.0+ab cd", "99999999999999999999999",
		"1.0.post1+x.99999999999999999999",
	} {
		t.Run(in, func(t *testing.T) {
			if v, err := ParseVersion(in); err == nil {
				t.Fatalf("ParseVersion(%q) = %v, want error", in, v)
			} else if !errors.Is(err, ErrInvalidVersion) {
				t.Errorf("ParseVersion(%q) error %v does not wrap ErrInvalidVersion", in, err)
			}
		})
	}
}

// Ordering from PEP 440 "Summary of permitted suffixes and relative
// ordering", extended with epochs and local labels.
func TestCompareOrdering(t *testing.T) {
	ordered := []string{
		"1.dev0",
		"1.0.dev456",
		"1.0a1",
		"1.0a2.dev456",
		"1.0a12.dev456",
		"1.0a12",
		"1.0b1.dev456",
		"1.0b2",
		"1.0b2.post345.dev456",
		"1.0b2.post345",
		"1.0rc1.dev456",
		"1.0rc1",
		"1.0",
		"1.0+abc.5",
		"1.0+abc.7",
		"1.0+5",
		"1.0.post456.dev34",
		"1.0.post456",
		"1.0.15",
		"1.1.dev1",
		"2.4.1",
		"2.4.1+cu118",
		"2.4.1+cu121",
		"1!0.1",
		"1!1.0",
	}
	vs := make([]Version, len(ordered))
	for i, s := range ordered {
		vs[i] = MustParseVersion(s)
	}
	for i := range vs {
		for j := range vs {
			want := cmp.Compare(i, j)
			if got := vs[i].Compare(vs[j]); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", vs[i], vs[j], got, want)
			}
		}
	}
}

func TestEqualIgnoresTrailingZeros(t *testing.T) {
	for _, pair := range [][2]string{{"1.0", "1.0.0"}, {"1", "1.0.0.0"}, {"0!1.0", "1"}, {"1.0a", "1.0a0"}, {"1.0+A", "1.0+a"}} {
		a, b := MustParseVersion(pair[0]), MustParseVersion(pair[1])
		if !a.Equal(b) {
			t.Errorf("%s.Equal(%s) = false, want true", pair[0], pair[1])
		}
	}
	if MustParseVersion("1.0+1").Equal(MustParseVersion("1.0")) {
		t.Error("1.0+1 equals 1.0; local labels are significant in ordering")
	}
}

func TestVersionAccessors(t *testing.T) {
	v := MustParseVersion("2!1.2.3rc4.post5.dev6+Ubuntu-7")
	if got := v.Epoch(); got != 2 {
		t.Errorf("Epoch() = %d, want 2", got)
	}
	if got := v.Release(); len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Errorf("Release() = %v, want [1 2 3]", got)
	}
	if l, n, ok := v.Pre(); l != "rc" || n != 4 || !ok {
		t.Errorf("Pre() = %q, %d, %t, want rc, 4, true", l, n, ok)
	}
	if n, ok := v.Post(); n != 5 || !ok {
		t.Errorf("Post() = %d, %t", n, ok)
	}
	if n, ok := v.Dev(); n != 6 || !ok {
		t.Errorf("Dev() = %d, %t", n, ok)
	}
	if got := v.Local(); got != "ubuntu.7" {
		t.Errorf("Local() = %q", got)
	}
	if got := v.Public().String(); got != "2!1.2.3rc4.post5.dev6" {
		t.Errorf("Public() = %q", got)
	}
	if got := v.BaseVersion().String(); got != "2!1.2.3" {
		t.Errorf("BaseVersion() = %q", got)
	}
	for s, want := range map[string][2]bool{
		"1.0": {false, false}, "1.0a1": {true, false}, "1.0.dev1": {true, false},
		"1.0.post1": {false, true}, "1.0.post1.dev1": {true, true},
	} {
		v := MustParseVersion(s)
		if v.IsPrerelease() != want[0] || v.IsPostrelease() != want[1] {
			t.Errorf("%s: IsPrerelease, IsPostrelease = %t, %t, want %v", s, v.IsPrerelease(), v.IsPostrelease(), want)
		}
	}
}
