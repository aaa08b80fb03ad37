package sbom

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/lockfile/pylock"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.cdx.json")

const (
	shaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	shaC = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	img  = "europe-west4-docker.pkg.dev/p/r/tiny"
	dig  = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func testLock() *pylock.Lock {
	return &pylock.Lock{
		LockVersion: "1.0",
		Packages: []pylock.Package{
			{Name: "torch", Version: "2.3.0+cu121", Index: "https://download.pytorch.org/whl/cu121",
				Wheels: []pylock.Wheel{{Name: "torch-2.3.0+cu121-cp311-cp311-linux_x86_64.whl", URL: "https://user:secret@download.pytorch.org/whl/cu121/torch-2.3.0%2Bcu121-cp311-cp311-linux_x86_64.whl", SHA256: shaA, Size: 10}}},
			{Name: "Typing_Extensions", Version: "4.12.2", Marker: `python_version < "3.12"`,
				Wheels: []pylock.Wheel{{Name: "typing_extensions-4.12.2-py3-none-any.whl", URL: "https://files.pythonhosted.org/packages/t/typing_extensions-4.12.2-py3-none-any.whl", SHA256: shaB}}},
			{Name: "numpy", Version: "1.26.4",
				Wheels: []pylock.Wheel{{Name: "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", URL: "https://files.pythonhosted.org/packages/n/numpy.whl", SHA256: shaC}}},
		},
		HFPack: &pylock.HFPack{Python: "3.11.9", Platform: "manylinux_2_35_x86_64"},
	}
}

func build(t *testing.T, l *pylock.Lock, opts ...Option) []byte {
	t.Helper()
	b, err := CycloneDX(l, img, opts...)
	if err != nil {
		t.Fatalf("CycloneDX() = %v", err)
	}
	return b
}

// The document is byte-for-byte the golden one: a change of output is a
// change of every SBOM digest, so it must be deliberate (go test -update).
// testdata/golden.cdx.json validates against the CycloneDX 1.5 JSON schema
// (bom-1.5.SNAPSHOT.schema.json of @cyclonedx/cyclonedx-library 10.3.0,
// checked with Python's jsonschema); recheck it when it changes.
func TestGolden(t *testing.T) {
	got := build(t, testLock(), WithTimestamp(time.Unix(1700000000, 0)), WithToolVersion("v0.1.0"), WithImageDigest(dig))
	path := filepath.Join("testdata", "golden.cdx.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("CycloneDX() differs from %s (-want +got):\n%s", path, diff)
	}
}

func TestComponents(t *testing.T) {
	var doc struct {
		BOMFormat, SpecVersion, SerialNumber string
		Version                              int
		Metadata                             struct {
			Timestamp string
			Component struct{ Type, Name, Version string }
			Tools     struct {
				Components []struct{ Name, Version string }
			}
		}
		Components []struct {
			Type, Name, Version, Purl string
			Hashes                    []struct{ Alg, Content string }
			ExternalReferences        []struct{ Type, URL string }
		}
	}
	if err := json.Unmarshal(build(t, testLock(), WithToolVersion("v0.1.0")), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.BOMFormat != "CycloneDX" || doc.SpecVersion != "1.5" || doc.Version != 1 {
		t.Errorf("header %q %q %d, want CycloneDX 1.5 version 1", doc.BOMFormat, doc.SpecVersion, doc.Version)
	}
	// The pattern of serialNumber in the CycloneDX 1.5 JSON schema.
	if !regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(doc.SerialNumber) {
		t.Errorf("serialNumber %q does not match the schema's pattern", doc.SerialNumber)
	}
	if doc.Metadata.Timestamp != "" {
		t.Errorf("timestamp %q without WithTimestamp, want none", doc.Metadata.Timestamp)
	}
	if c := doc.Metadata.Component; c.Type != "container" || c.Name != img {
		t.Errorf("metadata.component %+v, want container %s", c, img)
	}
	if tl := doc.Metadata.Tools.Components; len(tl) != 1 || tl[0].Name != "hfpack" || tl[0].Version != "v0.1.0" {
		t.Errorf("metadata.tools %+v, want hfpack v0.1.0", tl)
	}
	type comp struct{ Name, Version, Purl, SHA256, URL string }
	var got []comp
	for _, c := range doc.Components {
		if c.Type != "library" || len(c.Hashes) != 1 || c.Hashes[0].Alg != "SHA-256" || len(c.ExternalReferences) != 1 || c.ExternalReferences[0].Type != "distribution" {
			t.Errorf("component %+v: want a library with one SHA-256 and one distribution URL", c)
			continue
		}
		got = append(got, comp{c.Name, c.Version, c.Purl, c.Hashes[0].Content, c.ExternalReferences[0].URL})
	}
	want := []comp{
		{"numpy", "1.26.4", "pkg:pypi/numpy@1.26.4?file_name=numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", shaC, "https://files.pythonhosted.org/packages/n/numpy.whl"},
		{"torch", "2.3.0+cu121", "pkg:pypi/torch@2.3.0%2Bcu121?file_name=torch-2.3.0%2Bcu121-cp311-cp311-linux_x86_64.whl", shaA, "https://download.pytorch.org/whl/cu121/torch-2.3.0%2Bcu121-cp311-cp311-linux_x86_64.whl"},
		{"typing-extensions", "4.12.2", "pkg:pypi/typing-extensions@4.12.2?file_name=typing_extensions-4.12.2-py3-none-any.whl", shaB, "https://files.pythonhosted.org/packages/t/typing_extensions-4.12.2-py3-none-any.whl"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
}

// Same lock in any order, same bytes; a different lock, a different serial number.
func TestDeterministic(t *testing.T) {
	a := build(t, testLock())
	l := testLock()
	l.Packages[0], l.Packages[2] = l.Packages[2], l.Packages[0]
	if b := build(t, l); !bytes.Equal(a, b) {
		t.Errorf("reordered lock gives different bytes:\n%s\n%s", a, b)
	}
	l.Packages[0].Version = "1.26.5"
	if serial(t, build(t, l)) == serial(t, a) {
		t.Error("a changed lock kept its serial number")
	}
	if serial(t, build(t, testLock(), WithTimestamp(time.Unix(1, 0)))) == serial(t, a) {
		t.Error("a changed timestamp kept its serial number")
	}
}

func serial(t *testing.T, b []byte) string {
	t.Helper()
	var d struct{ SerialNumber string }
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d.SerialNumber
}

func TestTimestamp(t *testing.T) {
	b := build(t, testLock(), WithTimestamp(time.Unix(1700000000, 999).In(time.FixedZone("x", 3600))))
	if !bytes.Contains(b, []byte(`"timestamp": "2023-11-14T22:13:20Z"`)) {
		t.Errorf("want the UTC timestamp 2023-11-14T22:13:20Z in\n%s", b)
	}
}

func TestNoSecrets(t *testing.T) {
	if b := build(t, testLock()); bytes.Contains(b, []byte("secret")) || bytes.Contains(b, []byte("user@")) {
		t.Errorf("credentials of a wheel URL leaked into the SBOM:\n%s", b)
	}
}

func TestEmptyLock(t *testing.T) {
	b := build(t, &pylock.Lock{})
	if !bytes.Contains(b, []byte(`"components": []`)) {
		t.Errorf("empty lock: want an empty components array in\n%s", b)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*pylock.Lock)
	}{
		{"no version", func(l *pylock.Lock) { l.Packages[0].Version = "" }},
		{"bad sha256", func(l *pylock.Lock) { l.Packages[0].Wheels[0].SHA256 = "ABC" }},
		{"bad url", func(l *pylock.Lock) { l.Packages[0].Wheels[0].URL = "ftp://x/y.whl" }},
		{"twice", func(l *pylock.Lock) { l.Packages = append(l.Packages, l.Packages[0]) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := testLock()
			tc.mutate(l)
			if _, err := CycloneDX(l, img); !errors.Is(err, ErrInvalidLock) {
				t.Errorf("CycloneDX() = %v, want ErrInvalidLock", err)
			}
		})
	}
	if _, err := CycloneDX(nil, img); !errors.Is(err, ErrInvalidLock) {
		t.Errorf("CycloneDX(nil) = %v, want ErrInvalidLock", err)
	}
	if _, err := CycloneDX(testLock(), ""); err == nil {
		t.Error("CycloneDX() with no image name = nil error")
	}
	if _, err := CycloneDX(testLock(), img, WithImageDigest("sha256:xyz")); err == nil {
		t.Error("WithImageDigest(sha256:xyz) accepted")
	}
}

func TestPURL(t *testing.T) {
	for _, tc := range []struct{ name, version, file, want string }{
		{"Django", "5.0", "", "pkg:pypi/django@5.0"},
		{"zope.interface", "6.0", "", "pkg:pypi/zope-interface@6.0"},
		{"torch", "2.3.0+cu121", "", "pkg:pypi/torch@2.3.0%2Bcu121"},
		{"a", "1!2.0", "a b.whl", "pkg:pypi/a@1%212.0?file_name=a%20b.whl"},
	} {
		if got := PURL(tc.name, tc.version, tc.file); got != tc.want {
			t.Errorf("PURL(%q, %q, %q) = %q, want %q", tc.name, tc.version, tc.file, got, tc.want)
		}
	}
}

// Whatever a lock holds, the SBOM is valid JSON whose package URLs decode
// back to the locked version and file name, and whose URLs carry no
// credentials.
func FuzzCycloneDX(f *testing.F) {
	f.Add("torch", "2.3.0+cu121", "torch-2.3.0+cu121-cp311-none-any.whl", "https://u:p@h/x.whl")
	f.Add("a", "1", "", "")
	f.Add("\"<>&", "\x00\xff", "?#%/", "http://h/%zz")
	f.Add("x", "1", "x.whl", "file:///tmp/x.whl")
	f.Add("x", "1", "x.whl", "https://h/x.whl?X-Amz-Signature=s3cr3t")
	f.Fuzz(func(t *testing.T, name, version, file, u string) {
		l := &pylock.Lock{Packages: []pylock.Package{{Name: name, Version: version, Wheels: []pylock.Wheel{{Name: file, URL: u, SHA256: shaA}}}}}
		b, err := CycloneDX(l, img)
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("invalid JSON:\n%s", b)
		}
		var d struct {
			Components []struct{ Purl, Version string }
		}
		if err := json.Unmarshal(b, &d); err != nil || len(d.Components) != 1 {
			t.Fatalf("decoding %s: %v", b, err)
		}
		p := d.Components[0].Purl
		_, rest, _ := strings.Cut(p, "@")
		v, q, _ := strings.Cut(rest, "?file_name=")
		if got, err := url.PathUnescape(v); err != nil || got != version {
			t.Errorf("purl %q version decodes to %q, %v, want %q", p, got, err, version)
		}
		if got, err := url.PathUnescape(q); err != nil || got != file {
			t.Errorf("purl %q file_name decodes to %q, %v, want %q", p, got, err, file)
		}
		if pu, err := url.Parse(u); err == nil && pu.User != nil {
			if pw, ok := pu.User.Password(); ok && pw != "" && bytes.Contains(b, []byte(pu.User.String()+"@")) {
				t.Errorf("credentials of %q in\n%s", u, b)
			}
		}
		if pu, err := url.Parse(u); err == nil && len(pu.RawQuery) > 2 && bytes.Contains(b, []byte("?"+pu.RawQuery)) {
			t.Errorf("query of %q in\n%s", u, b)
		}
	})
}
