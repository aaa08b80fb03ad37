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
	} {
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
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

// secrets returns the user information and query of s as a standard
// parser reads them, when s is a URL with an authority.
func secrets(s string) []string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || !strings.HasPrefix(s, u.Scheme+"://") {
		return nil
	}
	var out []string
	if u.User != nil {
		out = append(out, u.User.String())
	}
	if u.RawQuery != "" {
		out = append(out, u.RawQuery)
	}
	return out
}

// Whatever the string, neither function lets through the user information
// or the query a parser finds in it.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"https://u:p@h/x?y=z#f", "http://:p@#:p@", "http://h/%zz", "a://b@c@d?e", "x http://u:p@h y", "file:///x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Text(s)
		clean, ok := URL(s)
		for _, sec := range secrets(s) {
			if len(sec) < 3 || !strings.Contains(s, "://") {
				continue
			}
			if strings.Contains(got, sec) && !strings.Contains(Placeholder, sec) {
				t.Errorf("Text(%q) = %q keeps %q", s, got, sec)
			}
			if ok && strings.Contains(clean, sec) {
				t.Errorf("URL(%q) = %q keeps %q", s, clean, sec)
			}
		}
	})
}
