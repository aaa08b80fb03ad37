package index

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/hfpack/hfpack/python/pep508"
)

// Media types of the simple repository API.
const (
	JSONType = "application/vnd.pypi.simple.v1+json"
	HTMLType = "application/vnd.pypi.simple.v1+html"
)

// Accept is the Accept header sent for project pages: JSON preferred, HTML
// accepted.
const Accept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"

// apiMinor is the highest minor version of API 1.x this client knows; a
// newer minor is used but logged.
const apiMinor = 4

// File is one distribution file listed by an index.
type File struct {
	// Filename is the file's name, such as "torch-2.4.1+cu121-cp311-cp311-linux_x86_64.whl".
	Filename string
	// URL is the absolute download URL, without credentials or fragment.
	URL string
	// SHA256 is the lower-case hex sha256 the index gave, or "".
	SHA256 string
	// Size is the file size in bytes, or 0 when the index did not say.
	Size int64
	// UploadTime is when the file was uploaded (UTC), or zero.
	UploadTime time.Time
	// RequiresPython is the file's requires-python specifier, unparsed.
	RequiresPython string
	// Yanked reports a PEP 592 yanked file; YankedReason may say why.
	Yanked       bool
	YankedReason string
	// HasMetadata reports a PEP 658 metadata file at URL + ".metadata".
	HasMetadata bool
	// MetadataSHA256 is that metadata file's sha256, when given.
	MetadataSHA256 string
	// Index is the base URL (without credentials) of the index that listed
	// the file.
	Index string
}

// IsWheel reports whether the file is a wheel.
func (f File) IsWheel() bool { return strings.HasSuffix(strings.ToLower(f.Filename), ".whl") }

// Project is one project page.
type Project struct {
	// Name is the normalised project name.
	Name string
	// Index is the base URL (without credentials) of the index serving it.
	Index string
	// Files are the listed files, in page order.
	Files []File
	// Versions is the PEP 700 versions list, when the index gave one.
	Versions []string
	// APIVersion is the page's api-version ("1.0" when absent).
	APIVersion string
	// Warnings lists entries that were skipped or fields that were ignored.
	Warnings []string
}

// Normalize returns the PEP 503 normalised form of a project name.
func Normalize(name string) string { return pep508.NormalizeName(name) }

// ValidName reports whether name is a valid project name (PEP 508).
func ValidName(name string) bool { return pep508.ValidName(name) }

// checkAPIVersion returns the minor version, or an error for a major
// version other than 1.
func checkAPIVersion(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	maj, min, _ := strings.Cut(v, ".")
	major, err := strconv.Atoi(maj)
	if err != nil {
		return 0, fmt.Errorf("malformed api-version %q", v)
	}
	if major != 1 {
		return 0, fmt.Errorf("%w %s (hfpack speaks 1.x)", ErrUnsupportedAPI, v)
	}
	minor, _ := strconv.Atoi(min)
	return minor, nil
}

type jsonPage struct {
	Meta struct {
		APIVersion string `json:"api-version"`
	} `json:"meta"`
	Name     string            `json:"name"`
	Files    []json.RawMessage `json:"files"`
	Versions []string          `json:"versions"`
}

// jsonPageFiles is jsonPage decoded in one pass.
type jsonPageFiles struct {
	Meta struct {
		APIVersion string `json:"api-version"`
	} `json:"meta"`
	Name     string     `json:"name"`
	Files    []jsonFile `json:"files"`
	Versions []string   `json:"versions"`
}

type jsonFile struct {
	Filename         string            `json:"filename"`
	URL              string            `json:"url"`
	Hashes           map[string]string `json:"hashes"`
	RequiresPython   *string           `json:"requires-python"`
	CoreMetadata     json.RawMessage   `json:"core-metadata"`
	DistInfoMetadata json.RawMessage   `json:"dist-info-metadata"`
	Yanked           json.RawMessage   `json:"yanked"`
	Size             *int64            `json:"size"`
	UploadTime       *string           `json:"upload-time"`
}

// ParseJSON parses a PEP 691 project page fetched from pageURL. Relative
// file URLs are resolved against pageURL. Malformed entries are skipped and
// noted in Warnings; a malformed page or an unsupported api-version is an
// error.
func ParseJSON(data []byte, pageURL string) (*Project, error) {
	base, err := url.Parse(pageURL)
	if err != nil {
		return nil, fmt.Errorf("parsing page URL: %w", err)
	}
	// Most pages are well-formed: decode them in one pass. Only a page
	// that does not decode so is decoded again entry by entry, to skip
	// the malformed entries with a warning.
	if p, ok, err := parseJSONOnePass(data, base); ok {
		return p, err
	}
	return parseJSONEntries(data, base)
}

// parseJSONOnePass decodes a page whose every entry is well-typed; ok is
// false for any other page.
func parseJSONOnePass(data []byte, base *url.URL) (p *Project, ok bool, err error) {
	var page jsonPageFiles
	if json.NewDecoder(bytes.NewReader(data)).Decode(&page) != nil || page.Files == nil {
		return nil, false, nil
	}
	if p, err = newJSONProject(page.Meta.APIVersion, page.Name, page.Versions); err != nil {
		return nil, true, err
	}
	p.Files = make([]File, 0, len(page.Files))
	for i := range page.Files {
		p.addFile(i, &page.Files[i], base)
	}
	if len(p.Files) == 0 {
		p.Files = nil
	}
	return p, true, nil
}

// parseJSONEntries decodes a page entry by entry, skipping the malformed.
func parseJSONEntries(data []byte, base *url.URL) (*Project, error) {
	var page jsonPage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&page); err != nil {
		return nil, fmt.Errorf("parsing JSON page: %w", err)
	}
	if page.Files == nil {
		return nil, fmt.Errorf("parsing JSON page: no files list")
	}
	p, err := newJSONProject(page.Meta.APIVersion, page.Name, page.Versions)
	if err != nil {
		return nil, err
	}
	for i, raw := range page.Files {
		var jf jsonFile
		if err := json.Unmarshal(raw, &jf); err != nil {
			p.Warnings = append(p.Warnings, fmt.Sprintf("file %d: %v", i, err))
			continue
		}
		p.addFile(i, &jf, base)
	}
	return p, nil
}

// newJSONProject starts the Project of a JSON page.
func newJSONProject(apiVersion, name string, versions []string) (*Project, error) {
	p := &Project{Name: Normalize(name), APIVersion: apiVersion, Versions: versions}
	if p.APIVersion == "" {
		p.APIVersion = "1.0"
	}
	minor, err := checkAPIVersion(apiVersion)
	if err != nil {
		return nil, fmt.Errorf("parsing JSON page: %w", err)
	}
	if minor > apiMinor {
		p.Warnings = append(p.Warnings, fmt.Sprintf("api-version %s is newer than hfpack knows (1.%d)", p.APIVersion, apiMinor))
	}
	return p, nil
}

// addFile adds the page's i-th entry jf, or the warning that skips it.
func (p *Project) addFile(i int, jf *jsonFile, base *url.URL) {
	f, warn := jf.file(base)
	if warn != "" {
		p.Warnings = append(p.Warnings, fmt.Sprintf("file %d (%q): %s", i, jf.Filename, warn))
	}
	if f != nil {
		p.Files = append(p.Files, *f)
	}
}

func (jf *jsonFile) file(base *url.URL) (*File, string) {
	if !validFilename(jf.Filename) {
		return nil, "skipped: unsafe or empty filename"
	}
	u, err := resolveFileURL(base, jf.URL)
	if err != nil {
		return nil, "skipped: " + err.Error()
	}
	f := &File{Filename: jf.Filename, URL: u}
	var warn string
	if h, ok := jf.Hashes["sha256"]; ok {
		if f.SHA256 = normHex(h); f.SHA256 == "" {
			warn = "ignored malformed sha256"
		}
	}
	if jf.RequiresPython != nil {
		f.RequiresPython = strings.TrimSpace(*jf.RequiresPython)
	}
	meta := jf.CoreMetadata
	if len(meta) == 0 || string(meta) == "null" {
		meta = jf.DistInfoMetadata
	}
	f.HasMetadata, f.MetadataSHA256 = jsonMetadata(meta)
	f.Yanked, f.YankedReason = jsonYanked(jf.Yanked)
	if jf.Size != nil && *jf.Size > 0 {
		f.Size = *jf.Size
	}
	if jf.UploadTime != nil {
		t, err := time.Parse(time.RFC3339Nano, *jf.UploadTime)
		if err != nil {
			warn = "ignored malformed upload-time"
		} else {
			f.UploadTime = t.UTC()
		}
	}
	return f, warn
}

func jsonMetadata(raw json.RawMessage) (bool, string) {
	switch string(raw) {
	case "", "false", "null":
		return false, ""
	case "true":
		return true, ""
	}
	// Only true, false and null decode as a bool; a RawMessage from the
	// decoder carries no surrounding space.
	var hashes map[string]string
	if json.Unmarshal(raw, &hashes) == nil {
		return true, normHex(hashes["sha256"])
	}
	return false, ""
}

func jsonYanked(raw json.RawMessage) (bool, string) {
	switch string(raw) {
	case "", "false", "null":
		return false, ""
	case "true":
		return true, ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return true, s
	}
	return false, ""
}

// normHex returns s lower-cased if it is a 64-digit hex sha256, else "".
func normHex(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) != 64 {
		return ""
	}
	if _, err := hex.DecodeString(s); err != nil {
		return ""
	}
	return s
}

// validFilename rejects names that could escape a directory or confuse a
// shell or a log.
func validFilename(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > 255 {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return false
		}
	}
	return true
}

// resolveFileURL resolves ref against base and returns an absolute http(s)
// URL without credentials or fragment.
func resolveFileURL(base *url.URL, ref string) (string, error) {
	r, err := url.Parse(strings.TrimSpace(ref))
	if err != nil {
		return "", fmt.Errorf("malformed URL")
	}
	u := base.ResolveReference(r)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("unsupported URL scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return "", fmt.Errorf("URL has no host")
	}
	u, _ = stripUserinfo(u)
	u.Fragment, u.RawFragment = "", ""
	return u.String(), nil
}

// urlFilename returns the unescaped last path segment of u.
func urlFilename(u *url.URL) string {
	p := u.Path
	if p == "" || strings.HasSuffix(p, "/") {
		return ""
	}
	return path.Base(p)
}
