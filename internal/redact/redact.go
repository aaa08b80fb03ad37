// Package redact hides secrets that URLs carry (user information, query
// strings: registries' upload tokens, signed-URL signatures) in text that
// hfpack prints or records, whether or not the URL parses.
package redact

import (
	"bytes"
	"io"
	"net/url"
	"strings"
)

// Placeholder replaces what is hidden.
const Placeholder = "REDACTED"

// Text returns s with, in every URL it holds (a scheme, "://", and what
// follows up to a space or a quote; up to the closing quote when the URL
// is quoted, as Go's errors quote it), the query replaced by ?REDACTED and
// everything between "://" and the token's last '@' replaced by REDACTED.
// It does not parse: a malformed URL is redacted too, and an '@' in a
// path hides more than it must rather than less.
func Text(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 || schemeStart(s[:i]) == i {
			if i < 0 {
				b.WriteString(s)
				return b.String()
			}
			b.WriteString(s[:i+3])
			s = s[i+3:]
			continue
		}
		stops := " \t\r\n\"'<>`"
		if j := schemeStart(s[:i]); j > 0 && (s[j-1] == '"' || s[j-1] == '\'') {
			stops = s[j-1 : j] // quoted: the URL ends at the closing quote
		}
		b.WriteString(s[:i+3])
		s = s[i+3:]
		end := strings.IndexAny(s, stops)
		if end < 0 {
			end = len(s)
		}
		b.WriteString(token(s[:end]))
		s = s[end:]
	}
}

// schemeStart returns where the URL scheme that text before "://" ends
// with starts; len(before) when it ends with none.
func schemeStart(before string) int {
	j := len(before)
	for j > 0 {
		c := before[j-1]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.' {
			j--
			continue
		}
		break
	}
	return j
}

// token redacts one URL's text after "://".
func token(t string) string {
	if at := strings.LastIndexByte(t, '@'); at >= 0 {
		t = Placeholder + t[at:]
	}
	if q := strings.IndexByte(t, '?'); q >= 0 {
		frag := ""
		if h := strings.IndexByte(t[q:], '#'); h >= 0 {
			frag = t[q+h:]
		}
		t = t[:q] + "?" + Placeholder + frag
	}
	return t
}

// URL returns raw without user information, query or fragment, for
// recording where a file came from: scheme://host/path. ok is false when
// raw does not parse cleanly as an absolute URL with a host (a file: URL
// needs none), or holds an '@' that is not its user information's: such a
// string cannot be recorded safely.
func URL(raw string) (clean string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Opaque != "" || u.Host == "" && u.Scheme != "file" {
		return "", false
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	clean = u.String()
	if strings.Contains(clean, "@") {
		return "", false
	}
	return clean, true
}

// Writer returns a writer that redacts what it passes to w (Text), line by
// line: for streams hfpack does not write itself, such as BuildKit's
// progress. Close writes a last line that has no newline.
func Writer(w io.Writer) io.WriteCloser { return &lineWriter{w: w} }

type lineWriter struct {
	w   io.Writer
	buf []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		if _, err := io.WriteString(l.w, Text(string(l.buf[:i+1]))); err != nil {
			return len(p), err
		}
		l.buf = l.buf[i+1:]
	}
}

func (l *lineWriter) Close() error {
	if len(l.buf) == 0 {
		return nil
	}
	_, err := io.WriteString(l.w, Text(string(l.buf)))
	l.buf = nil
	return err
}
