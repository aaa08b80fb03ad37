package pep440

import "testing"

var versionSeeds = []string{
	"1.0", "v1.0", "1!2.0rc1.post2.dev3+local.7", "1.0-1", "1.0_a_1", "1.0.DEV", "1.0+ubuntu-1",
	"00!00.00", "1..0", "1.0+", "1.0a1a", " \t1.0\n", "1.0+abc.99999999999999999999", "18446744073709551616",
	"18446744073709551615.1", "1.0.post", "1.0-r", "1.0.*", "ⅷ", "1.0\x00", "=== 1", "1.0+a..b",
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range versionSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		canon := v.String()
		w, err := ParseVersion(canon)
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", canon, s, err)
		}
		if !w.Equal(v) || w.String() != canon {
			t.Fatalf("round trip %q -> %q -> %q", s, canon, w)
		}
		if v.Compare(v.Public()) < 0 || v.BaseVersion().Compare(v.BaseVersion()) != 0 {
			t.Fatalf("ordering broken for %q", s)
		}
	})
}

func FuzzParseSpecifierSet(f *testing.F) {
	for _, s := range []string{
		">=1.0,<2", "==2.*", "!=1.0.*", "~=1.4.5a4", "===foo", "== 1.0 ,", ",", "~=1", ">=1.0.*", "<1.0+local",
		"==1.0+local", "===", "==\t1", ">1.0.post1", "<=1!2", "~=1!1.0", "==1.0.*.*", "===a b", "=>1", ">=ⅷ",
	} {
		f.Add(s, "1.0")
	}
	f.Add(">=2.0", "2.1a1")
	f.Add("==2.4.1", "2.4.1+cu121")
	f.Fuzz(func(t *testing.T, spec, version string) {
		set, err := ParseSpecifierSet(spec)
		if err != nil {
			return
		}
		canon := set.String()
		again, err := ParseSpecifierSet(canon)
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", canon, spec, err)
		}
		if again.String() != canon {
			t.Fatalf("round trip %q -> %q -> %q", spec, canon, again)
		}
		v, err := ParseVersion(version)
		if err != nil {
			return
		}
		if set.Match(v) != again.Match(v) || set.Contains(v) != again.Contains(v) {
			t.Fatalf("%q and its canonical form %q disagree on %s", spec, canon, v)
		}
		if set.Contains(v) && !set.Match(v) {
			t.Fatalf("%q contains %s but does not match it", spec, v)
		}
	})
}

// FuzzParseVersionOracle checks the hand-written parser against PEP 440's
// own regular expression on ASCII input.
func FuzzParseVersionOracle(f *testing.F) {
	for _, s := range versionSeeds {
		f.Add(s)
	}
	for _, s := range []string{"1.0a-1", "1.0a.post1", "1.0-dev", "1.0-post", "1.0prev", "1.0alpha", "1.0rev", "1.0a-",
		"1.0.r1", "1.0-1-1", "1.0post-1", "1.0-r-1", "1.0a1-2", "1!2", "1.0+a_b-c.d", "1.0+a.", "V1", "1.0.", "1.0.a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return // (?i) folds some non-ASCII letters; the grammar is ASCII
			}
		}
		got, gotErr := ParseVersion(s)
		want, wantErr := parseRegexp(s)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("ParseVersion(%q) error = %v, regexp error = %v", s, gotErr, wantErr)
		}
		if gotErr == nil && (got.String() != want.String() || got.Compare(want) != 0) {
			t.Fatalf("ParseVersion(%q) = %s, regexp = %s", s, got, want)
		}
	})
}
