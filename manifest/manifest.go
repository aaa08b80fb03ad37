package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/hfpack/hfpack/hub"
	"github.com/hfpack/hfpack/imagespec"
)

// DefaultFile is the manifest name commands look for when none is given.
const DefaultFile = "hfpack.toml"

// Defaults applied to keys the manifest leaves out.
const (
	DefaultModelPath     = "model"
	DefaultPythonVersion = "3.11"
	DefaultIndexURL      = "https://pypi.org/simple"
	DefaultAccelerator   = "cpu"
	// The [serving] defaults are the sidecar's (package imagespec).
	DefaultMaxBatchSize    = imagespec.DefaultMaxBatchSize
	DefaultMaxBatchDelay   = imagespec.DefaultMaxBatchDelay
	DefaultRequestTimeout  = imagespec.DefaultRequestTimeout
	DefaultMaxRequestBytes = imagespec.DefaultMaxRequestBytes
	// DefaultMaxConcurrentStreams is how many generations run at once.
	DefaultMaxConcurrentStreams = imagespec.DefaultMaxConcurrentStreams
	// DefaultStreamTimeout bounds one generation.
	DefaultStreamTimeout = imagespec.DefaultStreamTimeout
)

// Manifest is a decoded, defaulted and validated hfpack.toml.
type Manifest struct {
	// File is the path the manifest was loaded from, as given.
	File string `toml:"-" json:"-"`
	// Dir is the absolute directory holding the manifest; relative paths in
	// the manifest are relative to it.
	Dir string `toml:"-" json:"-"`

	Name        string      `toml:"name" json:"name"`
	Model       Model       `toml:"model" json:"model"`
	Python      Python      `toml:"python" json:"python"`
	Accelerator Accelerator `toml:"accelerator" json:"accelerator"`
	Serving     Serving     `toml:"serving" json:"serving"`
	Image       Image       `toml:"image" json:"image"`
}

// Model says where the model is and how the default handler serves it:
// a local directory (Path) or a Hugging Face Hub repository (Source).
type Model struct {
	Path string `toml:"path" json:"path,omitempty"`
	// Source is a Hub model, "hf://ORG/NAME"; exclusive with Path.
	Source string `toml:"source" json:"source,omitempty"`
	// Revision is the branch, tag or commit of Source (default "main");
	// the lock pins the commit it points at.
	Revision string `toml:"revision" json:"revision,omitempty"`
	// Include adds files of Source to the default selection, Exclude
	// removes files from it (globs, as huggingface_hub's allow_patterns).
	Include []string `toml:"include" json:"include,omitempty"`
	Exclude []string `toml:"exclude" json:"exclude,omitempty"`
	// TokenEnv names the environment variable holding a Hub token for
	// gated or private models (default HF_TOKEN).
	TokenEnv        string `toml:"token-env" json:"token-env,omitempty"`
	Task            string `toml:"task" json:"task,omitempty"`
	Handler         string `toml:"handler" json:"handler,omitempty"`
	TrustRemoteCode bool   `toml:"trust-remote-code" json:"trust-remote-code,omitempty"`
}

// Python is the interpreter version and the requirements to lock.
type Python struct {
	Version      string   `toml:"version" json:"version"`
	Requirements []string `toml:"requirements" json:"requirements"`
	IndexURL     string   `toml:"index-url" json:"index-url"`
	Indexes      []Index  `toml:"index" json:"index,omitempty"`
}

// Index is an explicit extra package index that serves only the packages it names.
type Index struct {
	Name     string   `toml:"name" json:"name"`
	URL      string   `toml:"url" json:"url"`
	Packages []string `toml:"packages" json:"packages"`
}

// Accelerator is the Vertex accelerator the image must run on.
type Accelerator struct {
	Type  string `toml:"type" json:"type"`
	Count int    `toml:"count" json:"count"`
	// MinDriver raises the NVIDIA driver version the image may assume on
	// Vertex nodes above hfpack's documented floor, e.g. "580.65.06" to
	// allow CUDA 13 builds. Empty keeps the floor.
	MinDriver string `toml:"min-driver" json:"min-driver,omitempty"`
}

// GPU reports whether the accelerator is a GPU.
func (a Accelerator) GPU() bool { return a.Type != DefaultAccelerator }

// Serving tunes the sidecar.
type Serving struct {
	MaxBatchSize    int      `toml:"max-batch-size" json:"max-batch-size"`
	MaxBatchDelay   Duration `toml:"max-batch-delay" json:"max-batch-delay"`
	RequestTimeout  Duration `toml:"request-timeout" json:"request-timeout"`
	MaxRequestBytes int64    `toml:"max-request-bytes" json:"max-request-bytes"`
	// MaxConcurrentStreams is how many generations (handler generate())
	// run at once in the worker; more wait in the queue, then get 429.
	MaxConcurrentStreams int `toml:"max-concurrent-streams" json:"max-concurrent-streams"`
	// StreamTimeout bounds one generation; Vertex's dedicated endpoint gets
	// it as its inferenceTimeout.
	StreamTimeout Duration `toml:"stream-timeout" json:"stream-timeout"`
	// Workers is how many worker processes serve the model: by default one
	// per GPU when [accelerator] count > 1 (each pinned to its GPU with
	// CUDA_VISIBLE_DEVICES), otherwise 1. On GPUs it divides count; 1 keeps
	// every GPU visible to one worker, for models sharded with device_map.
	// On CPU any number up to 64 runs GIL-bound handlers in parallel.
	Workers int `toml:"workers" json:"workers"`
}

// Image overrides image-level choices.
type Image struct {
	// Base, when set, replaces the catalog's choice: "ref@sha256:..." or
	// "oci-layout:PATH[@sha256:...]".
	Base string `toml:"base" json:"base,omitempty"`
	// Catalog is a JSON file of extra base images and Python runtimes in
	// the format of `hfpack bases --json` (relative to the manifest), which
	// selection weighs like hfpack's own rows.
	Catalog string `toml:"catalog" json:"catalog,omitempty"`
}

// CatalogPath is [image] catalog resolved against the manifest's directory;
// "" when unset.
func (m *Manifest) CatalogPath() string {
	c := m.Image.Catalog
	if c == "" || filepath.IsAbs(c) {
		return c
	}
	return filepath.Join(m.Dir, c)
}

// Duration is a time.Duration written as a Go duration string ("5ms", "60s").
type Duration struct {
	time.Duration
	raw string
	err error
}

// UnmarshalText records the text; Validate reports a bad duration with its
// position alongside every other problem instead of stopping the decode.
func (d *Duration) UnmarshalText(b []byte) error {
	d.raw = string(b)
	d.Duration, d.err = time.ParseDuration(d.raw)
	return nil
}

// MarshalText writes the canonical Go form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// Load reads, decodes, defaults and validates the manifest at path. A
// validation failure is returned as Errors; a file that is not TOML at all,
// or whose values have the wrong types, as a single *FieldError.
func Load(path string, opts ...Option) (*Manifest, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	return Parse(path, src, opts...)
}

// Option configures Load and Parse.
type Option func(*options)

type options struct {
	checkCatalog func(path string) error
}

// WithCatalogCheck validates [image] catalog with check, which gets the
// file's path resolved against the manifest's directory; its error is
// reported at the key's line with the other manifest errors. Without it
// the catalog file is not read here (the manifest does not know the
// catalog's format: package baseimages does).
func WithCatalogCheck(check func(path string) error) Option {
	return func(o *options) { o.checkCatalog = check }
}

// Parse is Load for bytes already read; path names the file in errors and
// anchors relative paths.
func Parse(path string, src []byte, opts ...Option) (*Manifest, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolving manifest path: %w", err)
	}
	m := &Manifest{File: path, Dir: filepath.Dir(abs)}
	md, err := toml.Decode(string(src), m)
	if err != nil {
		return nil, decodeError(path, src, err)
	}
	pos := scanPositions(string(src))
	v := &validator{m: m, file: path, pos: pos, checkCatalog: o.checkCatalog}
	unknown := map[string]bool{}
	for _, k := range md.Undecoded() {
		unknown[k.String()] = true
		if len(k) > 1 && unknown[k[:len(k)-1].String()] {
			continue // a key of an unknown table: the table is the mistake
		}
		v.unknownKey(k)
	}
	m.applyDefaults(md)
	v.validate()
	if len(v.errs) > 0 {
		return nil, v.errs
	}
	return m, nil
}

// typeError matches the TOML decoder's type errors, which carry the line and
// key only in their text.
var typeError = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "([^"]*)"\): (.*)$`)

var duplicateKey = regexp.MustCompile(`^Key '([^']*)' has already been defined`)

// decodeError turns the TOML decoder's error into a FieldError with a line.
// Syntax errors name the line only: the key before them is not at fault.
func decodeError(file string, src []byte, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line := pe.Position.Line
		if s := pe.Position.Start; s >= 0 && s < len(src) && src[s] == '\n' && line > 1 {
			line-- // the lexer reports an unexpected end of line on the next line
		}
		key := ""
		if m := duplicateKey.FindStringSubmatch(pe.Message); m != nil {
			key = m[1]
		}
		return Errors{{File: file, Line: line, Key: key, Msg: "invalid TOML: " + pe.Message}}
	}
	if m := typeError.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Errors{{File: file, Line: line, Key: m[2], Msg: "wrong type: " + m[3]}}
	}
	return Errors{{File: file, Msg: err.Error()}}
}

func (m *Manifest) applyDefaults(md toml.MetaData) {
	if m.Model.Source != "" {
		if m.Model.Revision == "" && !md.IsDefined("model", "revision") {
			m.Model.Revision = hub.DefaultRevision
		}
		if m.Model.TokenEnv == "" && !md.IsDefined("model", "token-env") {
			m.Model.TokenEnv = hub.DefaultTokenEnv
		}
	} else if m.Model.Path == "" {
		m.Model.Path = DefaultModelPath
	}
	if m.Python.Version == "" {
		m.Python.Version = DefaultPythonVersion
	}
	if m.Python.IndexURL == "" {
		m.Python.IndexURL = DefaultIndexURL
	}
	if m.Accelerator.Type == "" {
		m.Accelerator.Type = DefaultAccelerator
	}
	if !md.IsDefined("accelerator", "count") {
		m.Accelerator.Count = 1
		if !m.Accelerator.GPU() {
			m.Accelerator.Count = 0
		}
	}
	if !md.IsDefined("serving", "max-batch-size") {
		m.Serving.MaxBatchSize = DefaultMaxBatchSize
	}
	if !md.IsDefined("serving", "max-batch-delay") {
		m.Serving.MaxBatchDelay = Duration{Duration: DefaultMaxBatchDelay}
	}
	if !md.IsDefined("serving", "request-timeout") {
		m.Serving.RequestTimeout = Duration{Duration: DefaultRequestTimeout}
	}
	if !md.IsDefined("serving", "max-request-bytes") {
		m.Serving.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if !md.IsDefined("serving", "max-concurrent-streams") {
		m.Serving.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	if !md.IsDefined("serving", "stream-timeout") {
		m.Serving.StreamTimeout = Duration{Duration: DefaultStreamTimeout}
	}
	if !md.IsDefined("serving", "workers") {
		m.Serving.Workers = imagespec.DefaultWorkers(m.Accelerator.Count)
	}
}

// ModelDir returns the absolute local model directory; "" for a model
// from the Hub (Source), whose files the build fetches into its cache.
func (m *Manifest) ModelDir() string {
	if m.Model.Source != "" {
		return ""
	}
	return m.abs(m.Model.Path)
}

// HubRepo returns the Hub repository id ("ORG/NAME") of model.source, or
// "" for a local model directory.
func (m *Manifest) HubRepo() string {
	id, err := hub.ParseSource(m.Model.Source)
	if err != nil {
		return ""
	}
	return id
}

// HandlerPath returns the absolute path of the custom handler, or "" when the
// default transformers handler is used.
func (m *Manifest) HandlerPath() string {
	if m.Model.Handler == "" {
		return ""
	}
	return m.abs(m.Model.Handler)
}

func (m *Manifest) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(m.Dir, filepath.FromSlash(p))
}

// RequirementsDigest is the sha256 of everything a lock is resolved from: the
// Python version, the requirements, the indexes and the accelerator. A lock
// records it; when it no longer matches, the lock is stale.
func (m *Manifest) RequirementsDigest() string {
	in := struct {
		Python      string   `json:"python"`
		Reqs        []string `json:"requirements"`
		IndexURL    string   `json:"index-url"`
		Indexes     []Index  `json:"indexes"`
		Accelerator string   `json:"accelerator"`
	}{m.Python.Version, m.Python.Requirements, m.Python.IndexURL, m.Python.Indexes, m.Accelerator.Type}
	b, _ := json.Marshal(in) // fixed field order; cannot fail for these types
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
