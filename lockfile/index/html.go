package index

import (
	"fmt"
	"html"
	"net/url"
	"strings"
)

// ParseHTML parses a PEP 503 project page fetched from pageURL. Only <a>,
// <meta name="pypi:repository-version"> and <base href> matter; scripts,
// styles and comments are skipped. Anchors without a usable href are
// skipped and noted in Warnings.
func ParseHTML(data []byte, pageURL string) (*Project, error) {
	base, err := url.Parse(pageURL)
	if err != nil {
		return nil, fmt.Errorf("parsing page URL: %w", err)
	}
	p := &Project{APIVersion: "1.0"}
	name := strings.TrimSuffix(base.Path, "/")
	p.Name = Normalize(name[strings.LastIndex(name, "/")+1:])
	sc := &scanner{s: string(data)}
	for {
		tag, ok := sc.next()
		if !ok {
			break
		}
		switch tag.name {
		case "meta":
			if strings.EqualFold(tag.attr("name"), "pypi:repository-version") {
				v := strings.TrimSpace(tag.attr("content"))
				minor, err := checkAPIVersion(v)
				if err != nil {
					return nil, fmt.Errorf("parsing HTML page: %w", err)
				}
				p.APIVersion = v
				if minor > apiMinor {
					p.Warnings = append(p.Warnings, fmt.Sprintf("api-version %s is newer than hfpack knows (1.%d)", v, apiMinor))
				}
			}
		case "base":
			if h, ok := tag.get("href"); ok {
				if b, err := url.Parse(strings.TrimSpace(h)); err == nil {
					base = base.ResolveReference(b)
				}
			}
		case "a":
			f, warn := anchorFile(base, tag)
			if warn != "" {
				p.Warnings = append(p.Warnings, warn)
			}
			if f != nil {
				p.Files = append(p.Files, *f)
			}
		}
	}
	return p, nil
}

func anchorFile(base *url.URL, tag tag) (*File, string) {
	href, ok := tag.get("href")
	if !ok {
		return nil, fmt.Sprintf("anchor %q: skipped: no href", clip(tag.text))
	}
	r, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return nil, fmt.Sprintf("anchor %q: skipped: malformed href", clip(tag.text))
	}
	abs := base.ResolveReference(r)
	filename := urlFilename(abs)
	if !validFilename(filename) {
		return nil, fmt.Sprintf("anchor %q: skipped: no filename in href", clip(tag.text))
	}
	u, err := resolveFileURL(base, href)
	if err != nil {
		return nil, fmt.Sprintf("anchor %q: skipped: %v", clip(filename), err)
	}
	f := &File{Filename: filename, URL: u}
	var warn string
	if algo, val, ok := strings.Cut(abs.Fragment, "="); ok && strings.EqualFold(algo, "sha256") {
		if f.SHA256 = normHex(val); f.SHA256 == "" {
			warn = fmt.Sprintf("anchor %q: ignored malformed sha256", clip(filename))
		}
	}
	f.RequiresPython = strings.TrimSpace(tag.attr("data-requires-python"))
	meta, ok := tag.get("data-core-metadata")
	if !ok {
		meta, ok = tag.get("data-dist-info-metadata")
	}
	if ok {
		f.HasMetadata, f.MetadataSHA256 = htmlMetadata(meta)
	}
	if reason, ok := tag.get("data-yanked"); ok {
		f.Yanked, f.YankedReason = true, reason
	}
	return f, warn
}

func htmlMetadata(v string) (bool, string) {
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "true") {
		return true, ""
	}
	if algo, val, ok := strings.Cut(v, "="); ok {
		if strings.EqualFold(algo, "sha256") {
			return true, normHex(val)
		}
		return true, ""
	}
	return false, ""
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// tag is a start tag with its attributes and, for <a>, its text.
type tag struct {
	name  string
	attrs [][2]string
	text  string
}

// get returns the first value of attribute name.
func (t tag) get(name string) (string, bool) {
	for _, a := range t.attrs {
		if a[0] == name {
			return a[1], true
		}
	}
	return "", false
}

func (t tag) attr(name string) string { v, _ := t.get(name); return v }

// scanner is a small, forgiving HTML tokenizer that yields start tags.
type scanner struct {
	s   string
	pos int
}

// next returns the next start tag of interest.
func (sc *scanner) next() (tag, bool) {
	for {
		i := strings.IndexByte(sc.s[sc.pos:], '<')
		if i < 0 {
			sc.pos = len(sc.s)
			return tag{}, false
		}
		sc.pos += i
		rest := sc.s[sc.pos:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			sc.skipPast("-->", 4)
			continue
		case strings.HasPrefix(rest, "<!") || strings.HasPrefix(rest, "<?") || strings.HasPrefix(rest, "</"):
			sc.skipPast(">", 1)
			continue
		}
		sc.pos++
		t, ok := sc.startTag()
		if !ok {
			continue
		}
		switch t.name {
		case "script", "style", "textarea", "title":
			sc.skipRaw(t.name)
			continue
		case "a":
			t.text = sc.text()
		}
		return t, true
	}
}

func (sc *scanner) skipPast(end string, from int) {
	if j := strings.Index(sc.s[sc.pos+from:], end); j >= 0 {
		sc.pos += from + j + len(end)
	} else {
		sc.pos = len(sc.s)
	}
}

// skipRaw skips raw text up to and including </name ...>.
func (sc *scanner) skipRaw(name string) {
	if j := indexASCIIFold(sc.s[sc.pos:], "</"+name); j >= 0 {
		sc.pos += j
		sc.skipPast(">", 1)
	} else {
		sc.pos = len(sc.s)
	}
}

// indexASCIIFold is strings.Index ignoring ASCII case; sep must be
// lower-case ASCII. Unlike searching strings.ToLower(s), the index is one
// into s even where s is not valid UTF-8 (ToLower widens each invalid byte
// to U+FFFD).
func indexASCIIFold(s, sep string) int {
	for i := 0; i+len(sep) <= len(s); i++ {
		j := 0
		for j < len(sep) && lowerASCII(s[i+j]) == sep[j] {
			j++
		}
		if j == len(sep) {
			return i
		}
	}
	return -1
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// text returns the unescaped text up to the next tag.
func (sc *scanner) text() string {
	j := strings.IndexByte(sc.s[sc.pos:], '<')
	if j < 0 {
		j = len(sc.s) - sc.pos
	}
	t := html.UnescapeString(sc.s[sc.pos : sc.pos+j])
	sc.pos += j
	return strings.TrimSpace(t)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// startTag parses a tag whose '<' has been consumed.
func (sc *scanner) startTag() (tag, bool) {
	s := sc.s
	if sc.pos >= len(s) || !isAlpha(s[sc.pos]) {
		return tag{}, false
	}
	start := sc.pos
	for sc.pos < len(s) && !isSpace(s[sc.pos]) && s[sc.pos] != '>' && s[sc.pos] != '/' {
		sc.pos++
	}
	t := tag{name: strings.ToLower(s[start:sc.pos])}
	for {
		for sc.pos < len(s) && (isSpace(s[sc.pos]) || s[sc.pos] == '/') {
			sc.pos++
		}
		if sc.pos >= len(s) {
			return t, true
		}
		if s[sc.pos] == '>' {
			sc.pos++
			return t, true
		}
		ns := sc.pos
		for sc.pos < len(s) && !isSpace(s[sc.pos]) && s[sc.pos] != '>' && s[sc.pos] != '=' && !(s[sc.pos] == '/' && sc.pos > ns) {
			sc.pos++
		}
		if sc.pos == ns { // a lone '=' or similar
			sc.pos++
			continue
		}
		name := strings.ToLower(s[ns:sc.pos])
		for sc.pos < len(s) && isSpace(s[sc.pos]) {
			sc.pos++
		}
		val := ""
		if sc.pos < len(s) && s[sc.pos] == '=' {
			sc.pos++
			for sc.pos < len(s) && isSpace(s[sc.pos]) {
				sc.pos++
			}
			val = sc.value()
		}
		t.attrs = append(t.attrs, [2]string{name, html.UnescapeString(val)})
	}
}

func (sc *scanner) value() string {
	s := sc.s
	if sc.pos >= len(s) {
		return ""
	}
	if q := s[sc.pos]; q == '"' || q == '\'' {
		end := strings.IndexByte(s[sc.pos+1:], q)
		if end < 0 {
			v := s[sc.pos+1:]
			sc.pos = len(s)
			return v
		}
		v := s[sc.pos+1 : sc.pos+1+end]
		sc.pos += end + 2
		return v
	}
	start := sc.pos
	for sc.pos < len(s) && !isSpace(s[sc.pos]) && s[sc.pos] != '>' {
		sc.pos++
	}
	return s[start:sc.pos]
}
