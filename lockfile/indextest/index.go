package indextest

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"sync"
	"time"
)

// DefaultUploadTime is the upload time reported for files unless UploadTime
// overrides it.
var DefaultUploadTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// Option configures an Index.
type Option func(*config)

type config struct {
	json, html     bool
	metadata       bool
	legacyMetadata bool
	relative       bool
	apiVersion     string
	maxAge         int
	user, pass     string
	noRanges       bool
}

// WithoutRanges makes the index ignore Range headers and always send whole
// files, as some static file servers do.
func WithoutRanges() Option { return func(c *config) { c.noRanges = true } }

// JSONOnly makes the index answer only PEP 691 JSON (406 for anything else).
func JSONOnly() Option { return func(c *config) { c.json, c.html = true, false } }

// HTMLOnly makes the index answer only PEP 503 HTML, whatever the Accept header.
func HTMLOnly() Option { return func(c *config) { c.json, c.html = false, true } }

// WithoutMetadata stops the index offering PEP 658 .metadata files.
func WithoutMetadata() Option { return func(c *config) { c.metadata = false } }

// LegacyMetadataKey advertises metadata files only under the pre-PEP 714
// names (data-dist-info-metadata, dist-info-metadata).
func LegacyMetadataKey() Option { return func(c *config) { c.legacyMetadata = true } }

// RelativeURLs makes file links relative to the project page.
func RelativeURLs() Option { return func(c *config) { c.relative = true } }

// WithAPIVersion sets the advertised repository API version (default "1.1").
func WithAPIVersion(v string) Option { return func(c *config) { c.apiVersion = v } }

// WithMaxAge sends Cache-Control: max-age=seconds on project pages
// (default: no Cache-Control header, so clients revalidate).
func WithMaxAge(seconds int) Option { return func(c *config) { c.maxAge = seconds } }

// WithBasicAuth requires HTTP basic credentials on every request.
func WithBasicAuth(user, pass string) Option {
	return func(c *config) { c.user, c.pass = user, pass }
}

// FileOption configures one file added to an Index.
type FileOption func(*file)

// Yanked marks the file yanked (PEP 592) with an optional reason.
func Yanked(reason string) FileOption {
	return func(f *file) { f.yanked, f.yankedReason = true, reason }
}

// UploadTime sets the file's upload-time.
func UploadTime(t time.Time) FileOption { return func(f *file) { f.uploadTime = t.UTC() } }

// RequiresPython overrides the file's advertised requires-python.
func RequiresPython(spec string) FileOption { return func(f *file) { f.requiresPython = spec } }

// WrongSHA256 makes the index advertise a sha256 that does not match the file.
func WrongSHA256() FileOption {
	return func(f *file) { f.advertised = sha256Hex(append(f.data[:len(f.data):len(f.data)], 'x')) }
}

// NoHash makes the index advertise no hash for the file.
func NoHash() FileOption { return func(f *file) { f.advertised = "" } }

// NoMetadataFile makes the index offer no .metadata file for this file.
func NoMetadataFile() FileOption { return func(f *file) { f.metadata = nil } }

// WrongMetadataSHA256 advertises a metadata hash that does not match.
func WrongMetadataSHA256() FileOption { return func(f *file) { f.wrongMetadataHash = true } }

// Version records the file's version in the PEP 700 versions list (wheels
// added with AddWheel record theirs automatically).
func Version(v string) FileOption { return func(f *file) { f.version = v } }

type file struct {
	project           string // normalised
	filename          string
	data              []byte
	sha               string
	advertised        string
	requiresPython    string
	yanked            bool
	yankedReason      string
	uploadTime        time.Time
	metadata          []byte
	wrongMetadataHash bool
	version           string
}

// Fault makes the index misbehave on one path.
type Fault struct {
	// Status, when non-zero, is sent instead of the content.
	Status int
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// Truncate serves only the first half of the body, with a matching
	// Content-Length (a complete response with incomplete content).
	Truncate bool
	// Hangup closes the connection without any response (the client sees
	// a connection reset or EOF).
	Hangup bool
	// CutBody announces the full Content-Length but sends half the body and
	// closes the connection (the client sees an unexpected EOF).
	CutBody bool
	// Times is how many requests fault before the path behaves; 0 means
	// every request.
	Times int
}

type fault struct {
	Fault
	used int
}

type rawPage struct {
	contentType string
	body        []byte
}

// Index is an in-memory package index. It is an http.Handler serving:
//
//	/simple/                  the project list
//	/simple/{name}/           a project page (JSON or HTML by Accept)
//	/files/{filename}         a file
//	/files/{filename}.metadata  its PEP 658 core metadata
//
// All methods are safe for concurrent use.
type Index struct {
	cfg config

	mu       sync.Mutex
	files    []*file
	raw      map[string]rawPage
	faults   map[string]*fault
	requests map[string]int
	ranges   map[string]int
	total    int
}

// New returns an empty Index.
func New(opts ...Option) *Index {
	c := config{json: true, html: true, metadata: true, apiVersion: "1.1"}
	for _, o := range opts {
		o(&c)
	}
	return &Index{cfg: c, raw: map[string]rawPage{}, faults: map[string]*fault{}, requests: map[string]int{}, ranges: map[string]int{}}
}

// AddWheel builds the wheel described by spec and adds it to project
// Normalize(spec.Name). It returns the wheel's bytes.
func (ix *Index) AddWheel(spec WheelSpec, opts ...FileOption) ([]byte, error) {
	data, err := BuildWheel(spec)
	if err != nil {
		return nil, err
	}
	rp := spec.RequiresPython
	all := append([]FileOption{RequiresPython(rp), Version(spec.Version), withMetadata(spec.Metadata())}, opts...)
	ix.AddFile(spec.Name, spec.Filename(), data, all...)
	return data, nil
}

// MustAddWheel is AddWheel that panics on error.
func (ix *Index) MustAddWheel(spec WheelSpec, opts ...FileOption) []byte {
	b, err := ix.AddWheel(spec, opts...)
	if err != nil {
		panic(err)
	}
	return b
}

func withMetadata(m []byte) FileOption { return func(f *file) { f.metadata = m } }

// AddFile adds an arbitrary file (an sdist, say) to project. Such files
// offer no metadata file.
func (ix *Index) AddFile(project, filename string, data []byte, opts ...FileOption) {
	sum := sha256Hex(data)
	f := &file{project: Normalize(project), filename: filename, data: data, sha: sum, advertised: sum, uploadTime: DefaultUploadTime}
	for _, o := range opts {
		o(f)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.files = append(ix.files, f)
}

// AddProject registers a project with no files (its page lists nothing).
func (ix *Index) AddProject(name string) {
	ix.mu.Lock()
	ix.files = append(ix.files, &file{project: Normalize(name)})
	ix.mu.Unlock()
}

// SetRawPage makes the index answer the project page of name with body and
// contentType verbatim, whatever the Accept header; for hostile-page tests.
func (ix *Index) SetRawPage(name, contentType string, body []byte) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.raw[Normalize(name)] = rawPage{contentType, body}
}

// InjectFault makes requests for path (for example ProjectPath("torch"))
// misbehave as f says. A later call replaces the fault.
func (ix *Index) InjectFault(path string, f Fault) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.faults[path] = &fault{Fault: f}
}

// Requests returns how many requests the index has received for path.
func (ix *Index) Requests(path string) int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.requests[path]
}

// RangeRequests returns how many requests for path carried a Range header.
func (ix *Index) RangeRequests(path string) int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.ranges[path]
}

// TotalRequests returns how many requests the index has received.
func (ix *Index) TotalRequests() int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.total
}

// ResetRequests zeroes the request counters.
func (ix *Index) ResetRequests() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.requests = map[string]int{}
	ix.ranges = map[string]int{}
	ix.total = 0
}

// ProjectPath returns the URL path of name's project page.
func ProjectPath(name string) string { return "/simple/" + Normalize(name) + "/" }

// FilePath returns the URL path of a file.
func FilePath(filename string) string { return "/files/" + filename }

// projects returns the normalised project names, sorted.
func (ix *Index) projects() []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range ix.files {
		if !seen[f.project] {
			seen[f.project] = true
			out = append(out, f.project)
		}
	}
	for p := range ix.raw {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// projectFiles returns the files of project sorted by filename, and whether
// the project exists.
func (ix *Index) projectFiles(project string) ([]*file, bool) {
	var out []*file
	found := false
	for _, f := range ix.files {
		if f.project == project {
			found = true
			if f.filename != "" {
				out = append(out, f)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].filename < out[j].filename })
	return out, found
}

func (ix *Index) fileByName(name string) *file {
	for _, f := range ix.files {
		if f.filename == name && f.filename != "" {
			return f
		}
	}
	return nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (f *file) metadataHash() string {
	if f.wrongMetadataHash {
		return sha256Hex(append(f.metadata[:len(f.metadata):len(f.metadata)], 'x'))
	}
	return sha256Hex(f.metadata)
}
