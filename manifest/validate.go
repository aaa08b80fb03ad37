package manifest

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hfpack/hfpack/accelerators"
	"github.com/hfpack/hfpack/hub"
	"github.com/hfpack/hfpack/imagespec"
)

// knownKeys lists every key the schema has, for typo suggestions.
var knownKeys = []string{
	"name",
	"model", "model.path", "model.task", "model.handler", "model.trust-remote-code",
	"model.source", "model.revision", "model.include", "model.exclude", "model.token-env",
	"python", "python.version", "python.requirements", "python.index-url",
	"python.index", "python.index.name", "python.index.url", "python.index.packages",
	"accelerator", "accelerator.type", "accelerator.count", "accelerator.min-driver",
	"serving", "serving.max-batch-size", "serving.max-batch-delay", "serving.request-timeout", "serving.max-request-bytes",
	"serving.max-concurrent-streams", "serving.stream-timeout", "serving.workers",
	"image", "image.base", "image.catalog",
}

// PythonVersions are the target Python versions hfpack can lock and build for.
var PythonVersions = []string{"3.9", "3.10", "3.11", "3.12", "3.13", "3.14"}

// Tasks are the transformers pipeline tasks the default handler serves.
var Tasks = []string{
	"audio-classification", "automatic-speech-recognition", "feature-extraction", "fill-mask",
	"image-classification", "image-feature-extraction", "image-segmentation", "image-to-text",
	"object-detection", "question-answering", "summarization", "table-question-answering",
	"text-classification", "text-generation", "text2text-generation", "token-classification",
	"translation", "zero-shot-classification", "zero-shot-image-classification",
}

// Limits on serving values: Vertex's dedicated endpoints accept 10 MB and
// time out after at most an hour.
const (
	maxBatchSize         = 1024
	maxBatchDelay        = 10 * time.Second
	maxTimeout           = time.Hour // also the dedicated endpoint's longest inferenceTimeout
	maxConcurrentStreams = 1024
	maxRequestBytes      = 10 * 1024 * 1024
)

var (
	imageName     = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	packageName   = regexp.MustCompile(`^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$`)
	gpuCounts     = []int{1, 2, 4, 8}
	driverVersion = regexp.MustCompile(`^[0-9]{3}(\.[0-9]{1,3}){0,2}$`)
)

type validator struct {
	m    *Manifest
	file string
	pos  positions
	errs Errors
	// checkCatalog validates [image] catalog (WithCatalogCheck).
	checkCatalog func(path string) error
}

func (v *validator) errorf(key, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{File: v.file, Line: v.pos.line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) unknownKey(k toml.Key) {
	key := k.String()
	generic := genericKey(k)
	msg := fmt.Sprintf("unknown key %q", key)
	if s := closest(generic, knownKeys); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	v.errorf(indexedKey(k, v.pos), "%s", msg)
}

// genericKey drops array-table indexes: python.index.url.
func genericKey(k toml.Key) string { return strings.Join(k, ".") }

// indexedKey finds the positions entry for an undecoded key, which may sit in
// an array of tables ("python.index[1].ur1").
func indexedKey(k toml.Key, pos positions) string {
	plain := strings.Join(k, ".")
	if _, ok := pos[plain]; ok {
		return plain
	}
	if len(k) >= 3 && k[0] == "python" && k[1] == "index" {
		rest := strings.Join(k[2:], ".")
		for i := 0; ; i++ {
			prefix := "python.index[" + itoa(i) + "]"
			if _, ok := pos[prefix]; !ok {
				break
			}
			if _, ok := pos[prefix+"."+rest]; ok {
				return prefix + "." + rest
			}
		}
	}
	return plain
}

func (v *validator) validate() {
	v.name()
	v.model()
	v.python()
	v.accelerator()
	v.serving()
	v.image()
	sort.SliceStable(v.errs, func(i, j int) bool { return lineOrder(v.errs[i]) < lineOrder(v.errs[j]) })
}

// lineOrder sorts keys absent from the file (line 0) last.
func lineOrder(e *FieldError) int {
	if e.Line == 0 {
		return 1 << 30
	}
	return e.Line
}

func (v *validator) name() {
	n := v.m.Name
	switch {
	case n == "":
		v.errorf("name", "missing: set name to the image name, e.g. name = \"sst2\"")
	case len(n) > 63:
		v.errorf("name", "%q is %d characters long; at most 63 are allowed", n, len(n))
	case !imageName.MatchString(n):
		v.errorf("name", "%q is not a valid image name: use lowercase letters, digits and single '-' between them", n)
	}
}

func (v *validator) model() {
	md := v.m.Model
	if md.Source != "" {
		v.hubModel()
	} else {
		v.hubOnly()
		dir := v.m.ModelDir()
		switch st, err := os.Stat(dir); {
		case err != nil:
			v.errorf("model.path", "model directory %q does not exist: point it at the directory written by save_pretrained, relative to the manifest, or set model.source = \"hf://ORG/NAME\" for a Hub model", md.Path)
		case !st.IsDir():
			v.errorf("model.path", "%q is not a directory: point it at the directory written by save_pretrained", md.Path)
		}
	}
	if md.Handler == "" {
		switch {
		case md.Task == "":
			v.errorf("model.task", "missing: the default handler needs a transformers pipeline task (e.g. \"text-classification\"), or set model.handler")
		case !contains(Tasks, md.Task):
			v.errorf("model.task", "unknown task %q%s; known tasks: %s", md.Task, suggestion(md.Task, Tasks), strings.Join(Tasks, ", "))
		}
		return
	}
	if md.Task != "" && !contains(Tasks, md.Task) {
		v.errorf("model.task", "unknown task %q%s; known tasks: %s", md.Task, suggestion(md.Task, Tasks), strings.Join(Tasks, ", "))
	}
	h := v.m.HandlerPath()
	if filepath.Ext(h) != ".py" {
		v.errorf("model.handler", "%q is not a Python file: the handler must be a .py module", md.Handler)
		return
	}
	if !inside(v.m.Dir, h) {
		v.errorf("model.handler", "%q is outside the manifest's directory: keep the handler next to hfpack.toml so the build context holds it", md.Handler)
		return
	}
	if st, err := os.Stat(h); err != nil || st.IsDir() {
		v.errorf("model.handler", "handler %q does not exist", md.Handler)
		return
	}
	if real, err := filepath.EvalSymlinks(h); err == nil {
		if base, err := filepath.EvalSymlinks(v.m.Dir); err == nil && !inside(base, real) {
			v.errorf("model.handler", "%q is a symlink leading outside the manifest's directory", md.Handler)
		}
	}
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// hubModel checks model.source and the keys that go with it.
func (v *validator) hubModel() {
	md := v.m.Model
	if md.Path != "" {
		v.errorf("model.source", "model.path and model.source are mutually exclusive: keep path for a local directory or source for a Hub model, not both")
	}
	if _, err := hub.ParseSource(md.Source); err != nil {
		v.errorf("model.source", "%v", err)
	}
	if err := hub.ValidRevision(md.Revision); err != nil {
		v.errorf("model.revision", "%v", err)
	}
	for i, p := range md.Include {
		if err := hub.ValidPattern(p); err != nil {
			v.errorf(fmt.Sprintf("model.include[%d]", i), "%v", err)
		}
	}
	for i, p := range md.Exclude {
		if err := hub.ValidPattern(p); err != nil {
			v.errorf(fmt.Sprintf("model.exclude[%d]", i), "%v", err)
		}
	}
	if !envName.MatchString(md.TokenEnv) || strings.HasPrefix(md.TokenEnv, "hf_") || strings.HasPrefix(md.TokenEnv, "api_org_") {
		// The value is not echoed: it may be a token pasted by mistake.
		v.errorf("model.token-env", "not an environment variable name: name the variable that holds the token, e.g. \"HF_TOKEN\", never the token itself")
	}
}

// hubOnly refuses the Hub keys without model.source: no key is ignored.
func (v *validator) hubOnly() {
	for _, k := range []string{"model.revision", "model.include", "model.exclude", "model.token-env"} {
		if _, set := v.pos[k]; set {
			v.errorf(k, "only applies to a Hub model: set model.source = \"hf://ORG/NAME\" or remove %s", k)
		}
	}
}

func (v *validator) python() {
	p := v.m.Python
	if !contains(PythonVersions, p.Version) {
		v.errorf("python.version", "unsupported Python %q%s; supported: %s", p.Version, suggestion(p.Version, PythonVersions), strings.Join(PythonVersions, ", "))
	}
	seen := map[string]int{}
	for i, r := range p.Requirements {
		key := fmt.Sprintf("python.requirements[%d]", i)
		n, err := requirementName(r)
		if err != nil {
			v.errorf(key, "%v", err)
			continue
		}
		if j, dup := seen[n]; dup {
			v.errorf(key, "%q repeats the requirement on %s from python.requirements[%d]: combine them into one", r, n, j)
			continue
		}
		seen[n] = i
	}
	v.indexURL("python.index-url", p.IndexURL)
	names := map[string]int{}
	served := map[string]int{}
	for i, ix := range p.Indexes {
		key := fmt.Sprintf("python.index[%d]", i)
		switch {
		case ix.Name == "":
			v.errorf(key+".name", "missing: name the index, e.g. \"pytorch-cu121\"")
		case names[ix.Name] > 0:
			v.errorf(key+".name", "index name %q is used twice", ix.Name)
		}
		names[ix.Name]++
		if ix.URL == "" {
			v.errorf(key+".url", "missing: set the index's simple API URL")
		} else {
			v.indexURL(key+".url", ix.URL)
		}
		if len(ix.Packages) == 0 {
			v.errorf(key+".packages", "empty: an explicit index serves only the packages it names, so name at least one")
		}
		for j, pkg := range ix.Packages {
			pk := fmt.Sprintf("%s.packages[%d]", key, j)
			if !packageName.MatchString(pkg) {
				v.errorf(pk, "%q is not a valid package name", pkg)
				continue
			}
			n := normalize(pkg)
			if k, dup := served[n]; dup && k != i {
				v.errorf(pk, "%s is already served by python.index[%d]: a package comes from exactly one index", pkg, k)
			}
			served[n] = i
		}
	}
}

func (v *validator) indexURL(key, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "file") || (u.Scheme != "file" && u.Host == "") {
		v.errorf(key, "%q is not an http(s) or file URL of a simple index", RedactURL(raw))
	}
}

func (v *validator) accelerator() {
	a := v.m.Accelerator
	if a.Type == DefaultAccelerator {
		if a.Count != 0 {
			v.errorf("accelerator.count", "count %d with type \"cpu\": leave count out or set it to 0", a.Count)
		}
		return
	}
	acc, ok := accelerators.Lookup(a.Type)
	if !ok {
		names := accelerators.Names()
		v.errorf("accelerator.type", "unknown accelerator %q%s; valid: %s", a.Type, suggestion(a.Type, names), strings.Join(names, ", "))
		return
	}
	if acc.Retired {
		v.errorf("accelerator.type", "%s is retired on Vertex AI: choose another accelerator, e.g. NVIDIA_L4", a.Type)
	}
	if a.MinDriver != "" && !driverVersion.MatchString(a.MinDriver) {
		v.errorf("accelerator.min-driver", "%q is not an NVIDIA driver version: write it as nvidia-smi prints it, e.g. \"580.65.06\"", a.MinDriver)
	}
	if !containsInt(gpuCounts, a.Count) {
		v.errorf("accelerator.count", "%d GPUs per replica is not offered: use 1, 2, 4 or 8", a.Count)
	}
}

func (v *validator) serving() {
	s := &v.m.Serving
	if s.MaxBatchSize < 1 || s.MaxBatchSize > maxBatchSize {
		v.errorf("serving.max-batch-size", "%d is out of range: use 1 (no batching) to %d", s.MaxBatchSize, maxBatchSize)
	}
	v.duration("serving.max-batch-delay", &s.MaxBatchDelay, 0, maxBatchDelay)
	v.duration("serving.request-timeout", &s.RequestTimeout, time.Millisecond, maxTimeout)
	if s.MaxConcurrentStreams < 1 || s.MaxConcurrentStreams > maxConcurrentStreams {
		v.errorf("serving.max-concurrent-streams", "%d is out of range: use 1 to %d", s.MaxConcurrentStreams, maxConcurrentStreams)
	}
	v.duration("serving.stream-timeout", &s.StreamTimeout, time.Second, maxTimeout)
	v.workers()
	if s.MaxRequestBytes < 1 || s.MaxRequestBytes > maxRequestBytes {
		v.errorf("serving.max-request-bytes", "%d is out of range: use 1 to %d (Vertex's dedicated endpoints accept 10 MB; shared ones 1.5 MB)", s.MaxRequestBytes, maxRequestBytes)
	}
}

// workers checks [serving] workers against the replica's GPUs: on a GPU
// each worker gets an equal share of them, so workers must divide count.
func (v *validator) workers() {
	n, a := v.m.Serving.Workers, v.m.Accelerator
	if n < 1 || n > imagespec.MaxWorkers {
		v.errorf("serving.workers", "%d is out of range: use 1 to %d", n, imagespec.MaxWorkers)
		return
	}
	if !a.GPU() || a.Count < 1 || a.Count%n == 0 {
		return
	}
	var ok []string
	for d := 1; d <= a.Count; d++ {
		if a.Count%d == 0 {
			ok = append(ok, strconv.Itoa(d))
		}
	}
	v.errorf("serving.workers", "%d workers cannot share %d GPUs equally: use %s (one per GPU: %d; one seeing every GPU, for device_map: 1)", n, a.Count, strings.Join(ok, ", "), a.Count)
}

func (v *validator) duration(key string, d *Duration, lo, hi time.Duration) {
	if d.err != nil {
		v.errorf(key, "%q is not a duration: write a number with a unit, e.g. \"5ms\", \"60s\", \"2m\"", d.raw)
		return
	}
	if d.Duration < lo || d.Duration > hi {
		v.errorf(key, "%s is out of range: use %s to %s", d.Duration, lo, hi)
	}
}

func (v *validator) image() {
	if c := v.m.Image.Catalog; c != "" && v.checkCatalog != nil {
		if err := v.checkCatalog(v.m.CatalogPath()); err != nil {
			v.errorf("image.catalog", "%v", err)
		}
	}
	b := v.m.Image.Base
	if b == "" {
		return
	}
	if lr, ok := imagespec.ParseLayoutRef(b); ok {
		dir := lr.Dir
		// The layout itself is read (and its absence reported) when the
		// base is loaded: a demo or a CI step may create it after check.
		if dir == "" {
			v.errorf("image.base", "%q names no directory: write oci-layout:PATH", b)
		}
		return
	}
	if _, err := name.NewDigest(b); err != nil {
		v.errorf("image.base", "%q is not pinned: write an image reference with a digest, REF@sha256:<64 hex digits>, or oci-layout:PATH", b)
	}
}

// RedactURL hides the password (or token) in a URL's user information. Index
// URLs may carry credentials; hfpack never prints them.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			if j := strings.Index(raw, "://"); j >= 0 && j < i {
				return raw[:j+3] + "REDACTED@" + raw[i+1:]
			}
		}
		return raw
	}
	if u.User == nil {
		return raw
	}
	u.User = url.User("REDACTED")
	return u.String()
}

func inside(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func suggestion(s string, candidates []string) string {
	if c := closest(s, candidates); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

var nameSep = regexp.MustCompile(`[-_.]+`)

// normalize is PEP 503 name normalisation.
func normalize(n string) string { return strings.ToLower(nameSep.ReplaceAllString(n, "-")) }
