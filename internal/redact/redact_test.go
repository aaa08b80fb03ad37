package redact

import (
	"net/url"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`Put "http://r:5000/v2/x/blobs/uploads/u?_state=SECRET&digest=sha256:1": EOF`, `Put "http://r:5000/v2/x/blobs/uploads/u?REDACTED": EOF`},
		{"GET https://a.b/c?sig=abc and https://d/e?x=1#f", "GET https://a.b/c?REDACTED and https://d/e?REDACTED#f"},
		{"https://user:pw@h/x.whl", "https://REDACTED@h/x.whl"},
		{"http://:p@#:p@", "http://REDACTED@"},
		{"wheel url \"http://u:p@h/%zz\": invalid", "wheel url \"http://REDACTED@h/%zz\": invalid"},
		{"no url? here", "no url? here"},
		{"oci:dir?x", "oci:dir?x"},
		{"://x?y", "://x?y"},
		{"", ""},
		{`Get "https://h/x?a b&c": EOF`, `Get "https://h/x?REDACTED": EOF`},
		{"a://? 00", "a://?REDACTED 00"},
	} {
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Streams hfpack does not write (BuildKit's progress) are redacted line by
// line, however they are split.
func TestWriter(t *testing.T) {
	var b strings.Builder
	w := Writer(&b)
	for _, part := range []string{"#5 ERROR: PUT http://r/v2/x/blobs/uploads/u?_st", "ate=SECRET&digest=sha256:1: 500\n#6 done\n", "last https://u:pw@h"} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "#5 ERROR: PUT http://r/v2/x/blobs/uploads/u?REDACTED 500\n#6 done\nlast https://REDACTED@h"
	if b.String() != want {
		t.Errorf("written %q, want %q", b.String(), want)
	}
}

func TestURL(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"https://u:p@files.example/a/x-1.0-py3-none-any.whl#sha256=ab", "https://files.example/a/x-1.0-py3-none-any.whl", true},
		{"https://h/x.whl?X-Amz-Signature=s", "https://h/x.whl", true},
		{"file:///tmp/x.whl", "file:///tmp/x.whl", true},
		{"http://:p@#:p@", "", false},
		{"http://h/:p@x", "", false},
		{"x.whl", "", false},
		{"mailto:a@b", "", false},
	} {
		got, ok := URL(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("URL(%q) = %q, %t, want %q, %t", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// leaks returns what a standard parser reads as the user information or
// the query of s, when s is a URL with an authority, unless it is the
// placeholder.
func leaks(s string) []string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || !strings.HasPrefix(s, u.Scheme+"://") {
		return nil
	}
	var out []string
	if u.User != nil && u.User.String() != Placeholder {
		out = append(out, u.User.String())
	}
	if u.RawQuery != "" && u.RawQuery != Placeholder {
		out = append(out, u.RawQuery)
	}
	return out
}

// Whatever the URL, what Text and URL make of it has no user information
// and no query a parser can read, bare (a URL ends at a space or a quote)
// or quoted as Go's errors quote URLs (it ends at the closing quote).
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"https://u:p@h/x?y=z#f", "http://:p@#:p@", "http://h/%zz", "a://b@c@d?e", "x http://u:p@h y", "file:///x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !strings.Contains(s, "://") {
			return
		}
		if !strings.ContainsAny(s, " \t\r\n\"'<>`") {
			if l := leaks(Text(s)); l != nil {
				t.Errorf("Text(%q) = %q: a parser reads %q", s, Text(s), l)
			}
		}
		if !strings.Contains(s, `"`) {
			q := Text(`Put "` + s + `": EOF`)
			inner := strings.TrimSuffix(strings.TrimPrefix(q, `Put "`), `": EOF`)
			if l := leaks(inner); l != nil {
				t.Errorf("Text of %q quoted = %q: a parser reads %q", s, q, l)
			}
		}
		if clean, ok := URL(s); ok {
			if l := leaks(clean); l != nil {
				t.Errorf("URL(%q) = %q: a parser reads %q", s, clean, l)
			}
		}
	})
}
