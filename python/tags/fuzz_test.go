package tags

import (
	"strings"
	"testing"
)

func FuzzParseWheel(f *testing.F) {
	for _, s := range []string{
		"distribution-1.0-1-py27-none-any.whl", "six-1.16.0-py2.py3-none-any.whl",
		"Tokenizers-0.20.3-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"torch-2.5.1+cu121-cp311-cp311-linux_x86_64.whl", "a-1-1-a-b-c.whl", "a-1-b-c.whl", "-----.whl",
		"a-1-py3..-none-any.whl", "a-1-99999999999999999999x-py3-none-any.whl", "a__b-1-py3-none-any.whl",
		"ä-1-py3-none-any.whl", "a-1.0+ü-py3-none-any.whl", "a-1- 1-py3-none-any.whl", "a-v1-py3-none-any.whl",
		"a-1-py3.py2.py1.py0-none.abi3-any.linux_x86_64.whl",
	} {
		f.Add(s)
	}
	s, err := Target{Python: "3.11", Glibc: "2.35", Arch: "x86_64"}.Supported()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		w, err := ParseWheel(name)
		if err != nil {
			return
		}
		if len(w.Tags) == 0 || w.Name == "" || w.Version.IsZero() {
			t.Fatalf("ParseWheel(%q) = %+v: missing parts", name, w)
		}
		// A wheel written with the normalised name and canonical version
		// parses to the same project, version and tags.
		parts := strings.Split(strings.TrimSuffix(name, ".whl"), "-")
		canon := strings.ReplaceAll(w.Name, "-", "_") + "-" + w.Version.String() + "-" + strings.Join(parts[2:], "-") + ".whl"
		again, err := ParseWheel(canon)
		if err != nil {
			t.Fatalf("normalised %q of %q does not parse: %v", canon, name, err)
		}
		if again.Name != w.Name || !again.Version.Equal(w.Version) || len(again.Tags) != len(w.Tags) {
			t.Fatalf("%q and %q differ", name, canon)
		}
		if ok := s.Compatible(w); ok != (s.Why(w) == "") {
			t.Fatalf("Compatible(%q) = %t but Why = %q", name, ok, s.Why(w))
		}
	})
}
