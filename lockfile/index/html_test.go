package index

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const pageURL = "https://files.example/simple/demo/"

func TestParseHTMLHostile(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	tests := []struct {
		name string
		page string
		want []File
	}{{
		name: "script and comment hide fake links",
		page: `<script>var a = '<a href="evil-1.0-py3-none-any.whl">x</a>';</script>
<!-- <a href="commented-1.0.whl">c</a> --><style>a{}</style>
<a href="demo-1.0-py3-none-any.whl#sha256=` + sha + `">demo-1.0-py3-none-any.whl</a>`,
		want: []File{{Filename: "demo-1.0-py3-none-any.whl", URL: "https://files.example/simple/demo/demo-1.0-py3-none-any.whl", SHA256: sha}},
	}, {
		name: "entities, single quotes, unquoted, uppercase",
		page: `<A HREF='../../f/demo-1.0.whl' Data-Requires-Python='&gt;=3.8,&lt;4&#44;!=3.9.*' data-yanked=&quot;reason&quot;>t</A>
<a href=demo-2.0.whl data-core-metadata=true>u</a>`,
		want: []File{
			{Filename: "demo-1.0.whl", URL: "https://files.example/f/demo-1.0.whl", RequiresPython: ">=3.8,<4,!=3.9.*", Yanked: true, YankedReason: `"reason"`},
			{Filename: "demo-2.0.whl", URL: "https://files.example/simple/demo/demo-2.0.whl", HasMetadata: true},
		},
	}, {
		name: "missing and unusable hrefs are skipped",
		page: `<a>no href</a><a href="">empty</a><a href="../">dir</a><a href="javascript:alert(1)">js</a>
<a href="file:///etc/passwd">f</a><a href="data:text/plain,x.whl">d</a><a href="http://[::1">bad</a>
<a href="x-1.whl"`,
		want: []File{{Filename: "x-1.whl", URL: "https://files.example/simple/demo/x-1.whl"}},
	}, {
		name: "duplicate attributes, first wins; empty yanked; bad hash dropped",
		page: `<a href="a-1.whl#sha256=nothex" href="b-1.whl" data-yanked data-dist-info-metadata="sha256=` + sha + `">a</a>`,
		want: []File{{Filename: "a-1.whl", URL: "https://files.example/simple/demo/a-1.whl", Yanked: true, HasMetadata: true, MetadataSHA256: sha}},
	}, {
		name: "credentials and fragments stripped, escaped plus kept",
		page: `<a href="https://u:p@cdn.example/torch-2.4.1%2Bcu121-cp311-cp311-linux_x86_64.whl#md5=00">t</a>`,
		want: []File{{Filename: "torch-2.4.1+cu121-cp311-cp311-linux_x86_64.whl", URL: "https://cdn.example/torch-2.4.1%2Bcu121-cp311-cp311-linux_x86_64.whl"}},
	}, {
		name: "base href honoured",
		page: `<html><head><base href="https://mirror.example/pkgs/"></head><a href="z-1.whl">z</a>`,
		want: []File{{Filename: "z-1.whl", URL: "https://mirror.example/pkgs/z-1.whl"}},
	}, {
		name: "unterminated everything",
		page: `<a href="ok-1.whl">ok</a><script>never closed <a href="no-1.whl">`,
		want: []File{{Filename: "ok-1.whl", URL: "https://files.example/simple/demo/ok-1.whl"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseHTML([]byte(tt.page), pageURL)
			if err != nil {
				t.Fatalf("ParseHTML: %v", err)
			}
			if d := cmp.Diff(tt.want, p.Files); d != "" {
				t.Errorf("ParseHTML files (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseJSONEntries(t *testing.T) {
	sha := strings.Repeat("CD", 32)
	page := `{"meta":{"api-version":"1.1"},"name":"Demo","versions":["1.0"],"files":[
	 {"filename":"demo-1.0-py3-none-any.whl","url":"../../f/demo-1.0-py3-none-any.whl","hashes":{"sha256":"` + sha + `","md5":"x"},
	  "requires-python":" >=3.8 ","core-metadata":{"sha256":"` + sha + `"},"yanked":"oops","size":10,"upload-time":"2024-01-02T03:04:05.5Z"},
	 {"filename":"demo-0.9.whl","url":"demo-0.9.whl","hashes":{},"dist-info-metadata":true,"yanked":false},
	 {"filename":"../evil.whl","url":"evil.whl","hashes":{}},
	 {"filename":"demo-0.1.whl","url":"javascript:alert(1)","hashes":{}},
	 {"filename":7}
	]}`
	p, err := ParseJSON([]byte(page), pageURL)
	if err != nil {
		t.Fatal(err)
	}
	want := []File{{
		Filename: "demo-1.0-py3-none-any.whl", URL: "https://files.example/f/demo-1.0-py3-none-any.whl", SHA256: strings.ToLower(sha),
		RequiresPython: ">=3.8", HasMetadata: true, MetadataSHA256: strings.ToLower(sha), Yanked: true, YankedReason: "oops", Size: 10,
		UploadTime: mustTime(t, "2024-01-02T03:04:05.5Z"),
	}, {Filename: "demo-0.9.whl", URL: "https://files.example/simple/demo/demo-0.9.whl", HasMetadata: true}}
	if d := cmp.Diff(want, p.Files); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	if len(p.Warnings) != 3 {
		t.Errorf("warnings = %q, want 3", p.Warnings)
	}
	for _, bad := range []string{`{"meta":{"api-version":"1.1"},"name":"x","files":[`, `[]`, `{"meta":{}}`, `{"meta":{"api-version":"x"},"files":[]}`} {
		if _, err := ParseJSON([]byte(bad), pageURL); err == nil {
			t.Errorf("ParseJSON(%q) succeeded", bad)
		}
	}
}

func FuzzParseHTML(f *testing.F) {
	for _, s := range []string{
		`<a href="x-1.whl#sha256=00" data-requires-python="&gt;=3" data-yanked>x</a>`,
		`<script><a href="y.whl"></script><!--`, `<a href='`, `<a href=`, `<a =x href>`, `<<a>>`,
		`<meta name="pypi:repository-version" content="1.0"><base href="//evil/">`,
		`<a href="%zz/%00.whl">`, "<a href=\"\x00\xff.whl\">", `<a href="http://[::1]:namedport/x.whl">`,
		`<A HREF=x.whl DATA-CORE-METADATA=sha256=zz>`, strings.Repeat("<a ", 100),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseHTML(data, pageURL)
		if err != nil {
			return
		}
		for _, file := range p.Files {
			checkFile(t, file)
		}
		checkParsedForm(t, p)
	})
}

// checkParsedForm asserts that the cached parsed form of p reads back as p.
func checkParsedForm(t *testing.T, p *Project) {
	t.Helper()
	digest := strings.Repeat("ab", 32)
	got, err := decodeProject(encodeProject(p, digest), digest)
	if err != nil {
		t.Fatalf("decoding the parsed form: %v", err)
	}
	got.Name, got.Index = p.Name, p.Index
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("parsed form round trip:\n got %+v\nwant %+v", got, p)
	}
	if _, err := decodeProject(encodeProject(p, digest), strings.Repeat("cd", 32)); err == nil {
		t.Fatal("a parsed form was accepted for another body")
	}
}

// FuzzDecodeProject: a damaged parsed form is refused, never a panic or a
// huge allocation, and what one decodes to encodes to a form that decodes
// to the same.
func FuzzDecodeProject(f *testing.F) {
	digest := strings.Repeat("ab", 32)
	p, err := ParseJSON([]byte(`{"meta":{"api-version":"1.1"},"name":"x","versions":["1.0"],"files":[{"filename":"x-1.0-py3-none-any.whl","url":"x.whl","hashes":{"sha256":"`+digest+`"},"yanked":"r","core-metadata":{"sha256":"`+digest+`"},"upload-time":"2024-01-02T03:04:05.123456Z","size":7,"requires-python":">=3.9"}]}`), pageURL)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(encodeProject(p, digest))
	f.Add(encodeProject(&Project{}, digest))
	f.Add([]byte(pageFormat))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decodeProject(data, digest)
		if err != nil {
			return
		}
		again, err := decodeProject(encodeProject(p, digest), digest)
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("decoded %+v, re-encoded and decoded %+v, %v", p, again, err)
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{
		`{"meta":{"api-version":"1.1"},"name":"x","files":[{"filename":"x.whl","url":"x.whl","hashes":{"sha256":"00"},"yanked":"r","core-metadata":{"sha256":"zz"},"upload-time":"nope","size":-1}]}`,
		`{"meta":{"api-version":"999999999999999999999.0"},"files":[]}`,
		`{"files":[null,1,"x",{"filename":"a/b"},{"filename":"c","url":"\u0000"}]}`,
		`{"meta":{"api-version":"1.0"},"files":[{"filename":"x","url":"//other.host/x.whl","yanked":{"a":1},"core-metadata":[]}]}`,
		`{"files":[`,
	} {
		f.Add([]byte(s))
	}
	base, _ := url.Parse(pageURL)
	f.Fuzz(func(t *testing.T, data []byte) {
		// The one-pass decoding of well-formed pages must read them as
		// the entry-by-entry decoding does.
		if fast, ok, ferr := parseJSONOnePass(data, base); ok {
			slow, serr := parseJSONEntries(data, base)
			if (ferr == nil) != (serr == nil) || !reflect.DeepEqual(fast, slow) {
				t.Fatalf("one pass: %+v, %v\nentry by entry: %+v, %v", fast, ferr, slow, serr)
			}
		}
		p, err := ParseJSON(data, pageURL)
		if err != nil {
			return
		}
		for _, file := range p.Files {
			checkFile(t, file)
		}
		checkParsedForm(t, p)
	})
}

// checkFile asserts what every parsed file must satisfy, whatever the page.
func checkFile(t *testing.T, f File) {
	t.Helper()
	if !validFilename(f.Filename) {
		t.Errorf("unsafe filename %q accepted", f.Filename)
	}
	if !strings.HasPrefix(f.URL, "http://") && !strings.HasPrefix(f.URL, "https://") {
		t.Errorf("non-http URL %q accepted", f.URL)
	}
	if strings.Contains(f.URL, "#") {
		t.Errorf("URL %q keeps a fragment", f.URL)
	}
	if f.SHA256 != "" && normHex(f.SHA256) != f.SHA256 {
		t.Errorf("malformed sha256 %q accepted", f.SHA256)
	}
}
