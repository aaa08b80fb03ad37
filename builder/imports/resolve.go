package imports

import (
	"archive/zip"
	"bufio"
	_ "embed"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

//go:embed stdlib311.txt
var stdlib311 string

// stdlibChanges lists the modules each Python minor version has beyond
// (+) or without (-) 3.11's, from the "What's New" removals and additions.
var stdlibChanges = map[string][]string{
	"3.9":  {"-tomllib", "-_tokenize", "+_bootsubprocess", "+parser", "+symbol", "+formatter", "+_peg_parser"},
	"3.10": {"-tomllib", "-_tokenize", "+_bootsubprocess"},
	"3.12": {"-asynchat", "-asyncore", "-distutils", "-imp", "-smtpd", "+_pydatetime", "+_pylong", "+_wmi"},
	"3.13": {"-asynchat", "-asyncore", "-distutils", "-imp", "-smtpd", "+_pydatetime", "+_pylong", "+_wmi",
		"-aifc", "-audioop", "-cgi", "-cgitb", "-chunk", "-crypt", "-imghdr", "-mailcap", "-msilib", "-nis",
		"-nntplib", "-ossaudiodev", "-pipes", "-sndhdr", "-spwd", "-sunau", "-telnetlib", "-uu", "-xdrlib",
		"-lib2to3", "+_colorize", "+_interpreters", "+_interpqueues", "+_interpchannels", "+_suggestions", "+_sysconfig", "+_pyrepl", "+_opcode_metadata", "+_android_support", "+_apple_support", "+_ios_support"},
}

// Stdlib returns the top-level standard-library modules of Python version
// ("3.11").
func Stdlib(version string) map[string]bool {
	set := map[string]bool{}
	for _, l := range strings.Split(stdlib311, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			set[l] = true
		}
	}
	for _, c := range stdlibChanges[version] {
		set[c[1:]] = c[0] == '+'
	}
	return set
}

// ModulesOfWheel returns the top-level import names a wheel provides, from
// its file list (the RECORD's contents, read from the zip's central
// directory) joined with top_level.txt when present.
func ModulesOfWheel(zr *zip.Reader) []string {
	set := map[string]bool{}
	for _, f := range zr.File {
		name := f.Name
		first, rest, nested := strings.Cut(name, "/")
		switch {
		case strings.HasSuffix(first, ".dist-info"):
			if rest == "top_level.txt" {
				readTopLevel(f, set)
			}
			continue
		case strings.HasSuffix(first, ".data"):
			scheme, inner, ok := strings.Cut(rest, "/")
			if !ok || (scheme != "purelib" && scheme != "platlib") {
				continue
			}
			first, _, nested = strings.Cut(inner, "/")
		}
		if first == "__pycache__" || first == "" {
			continue
		}
		if nested {
			set[first] = true
			continue
		}
		if mod, ok := moduleFile(first); ok {
			set[mod] = true
		}
	}
	out := make([]string, 0, len(set))
	for m := range set {
		if m != "" && !strings.ContainsAny(m, "-. ") {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}

// moduleFile returns the module name of a top-level file: "six" for
// "six.py", "_cffi_backend" for "_cffi_backend.cpython-311-x86_64-linux-gnu.so".
func moduleFile(name string) (string, bool) {
	for _, ext := range []string{".py", ".so", ".pyd", ".pyc"} {
		if strings.HasSuffix(name, ext) {
			mod, _, _ := strings.Cut(strings.TrimSuffix(name, ext), ".")
			return mod, true
		}
	}
	return "", false
}

func readTopLevel(f *zip.File, set map[string]bool) {
	rc, err := f.Open()
	if err != nil {
		return
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			top, _, _ := strings.Cut(l, "/")
			set[top] = true
		}
	}
}

// Env is what the image provides to the handler.
type Env struct {
	// Python is the target version, "3.11".
	Python string
	// Provided maps each top-level module of the locked wheels to the
	// distribution that provides it.
	Provided map[string]string
}

// Kinds of resolution.
const (
	KindStdlib = "stdlib"
	KindLocked = "locked"
	KindLocal  = "local"
)

// Resolved is one import and what satisfies it.
type Resolved struct {
	Import
	File string `json:"file"` // relative to the handler's directory
	Kind string `json:"kind"` // stdlib, locked or local
	Dist string `json:"dist,omitempty"`
}

// Missing is an import nothing in the image provides.
type Missing struct {
	Import
	File string
	// Requirement is the distribution to add: the well-known one for the
	// import name, or the import name itself.
	Requirement string
}

func (m Missing) String() string {
	return fmt.Sprintf("%s:%d: import %q is not provided by the lock: add %q to python.requirements in hfpack.toml and run hfpack lock",
		m.File, m.Line, m.Module, m.Requirement)
}

// Result is the outcome of Analyze.
type Result struct {
	// Files are the handler and the local modules it imports, relative to
	// the handler's directory, sorted. The image needs all of them.
	Files    []string
	Resolved []Resolved
	Missing  []Missing // required imports nothing provides
	Optional []Missing // imports guarded by except ImportError that nothing provides
}

// Err returns an error listing every missing required import, or nil.
func (r *Result) Err() error {
	if len(r.Missing) == 0 {
		return nil
	}
	lines := make([]string, len(r.Missing))
	for i, m := range r.Missing {
		lines[i] = m.String()
	}
	return &MissingError{Lines: lines}
}

// MissingError reports imports the image would fail on.
type MissingError struct{ Lines []string }

func (e *MissingError) Error() string {
	if len(e.Lines) == 1 {
		return e.Lines[0]
	}
	return fmt.Sprintf("%d imports are not provided by the lock:\n  %s", len(e.Lines), strings.Join(e.Lines, "\n  "))
}

// Analyze scans handler (a path) and every local module it imports,
// resolving each import against env. Local modules are looked up beside the
// handler, where the worker puts them on sys.path.
func Analyze(handler string, env Env) (*Result, error) {
	root := filepath.Dir(handler)
	a := &analyzer{root: root, env: env, std: Stdlib(env.Python), seen: map[string]bool{}, res: &Result{}}
	a.queue = []string{filepath.Base(handler)}
	a.seen[filepath.Base(handler)] = true
	for len(a.queue) > 0 {
		f := a.queue[0]
		a.queue = a.queue[1:]
		if err := a.file(f); err != nil {
			return nil, err
		}
	}
	sort.Strings(a.res.Files)
	return a.res, nil
}

type analyzer struct {
	root  string
	env   Env
	std   map[string]bool
	seen  map[string]bool
	queue []string
	res   *Result
}

func (a *analyzer) file(rel string) error {
	a.res.Files = append(a.res.Files, rel)
	src, err := os.ReadFile(filepath.Join(a.root, filepath.FromSlash(rel)))
	if err != nil {
		return fmt.Errorf("reading handler module: %w", err)
	}
	imps, err := Scan(src)
	if err != nil {
		return fmt.Errorf("scanning %s: %w", rel, err)
	}
	for _, imp := range imps {
		a.resolve(rel, imp)
	}
	return nil
}

func (a *analyzer) enqueue(rel string) {
	if !a.seen[rel] {
		a.seen[rel] = true
		a.queue = append(a.queue, rel)
	}
}

// local finds module (slash path without extension) under the root and
// enqueues it and its packages' __init__ files. It reports whether found.
func (a *analyzer) local(dir, module string) bool {
	parts := strings.Split(module, ".")
	found := false
	for i := range parts {
		p := path.Join(dir, strings.Join(parts[:i+1], "/"))
		switch {
		case a.exists(p + "/__init__.py"):
			a.enqueue(p + "/__init__.py")
			found = true
		case a.exists(p + ".py"):
			a.enqueue(p + ".py")
			return true
		case i == 0:
			return false
		}
	}
	return found
}

func (a *analyzer) exists(rel string) bool {
	st, err := os.Stat(filepath.Join(a.root, filepath.FromSlash(strings.TrimPrefix(rel, "./"))))
	return err == nil && st.Mode().IsRegular()
}

func (a *analyzer) resolve(file string, imp Import) {
	r := Resolved{Import: imp, File: file}
	if imp.Level > 0 {
		dir := path.Dir(file)
		for i := 1; i < imp.Level; i++ {
			dir = path.Dir(dir)
		}
		if a.local(dir, imp.Module) || a.exists(path.Join(dir, "__init__.py")) {
			r.Kind = KindLocal
			for _, n := range imp.Names {
				a.local(dir, imp.Module+"."+n)
			}
			a.res.Resolved = append(a.res.Resolved, r)
			return
		}
		a.missing(file, imp, imp.Module)
		return
	}
	top := imp.Top()
	switch {
	case a.local(".", imp.Module):
		r.Kind = KindLocal
		for _, n := range imp.Names { // from pkg import submodule
			a.local(".", imp.Module+"."+n)
		}
	case a.std[top]:
		r.Kind = KindStdlib
	case a.env.Provided[top] != "":
		r.Kind, r.Dist = KindLocked, a.env.Provided[top]
	default:
		a.missing(file, imp, requirementFor(top))
		return
	}
	a.res.Resolved = append(a.res.Resolved, r)
}

func (a *analyzer) missing(file string, imp Import, req string) {
	m := Missing{Import: imp, File: file, Requirement: req}
	if imp.Optional {
		a.res.Optional = append(a.res.Optional, m)
	} else {
		a.res.Missing = append(a.res.Missing, m)
	}
}

// knownDists maps import names to the distribution that provides them where
// the two differ.
var knownDists = map[string]string{
	"PIL": "Pillow", "sklearn": "scikit-learn", "skimage": "scikit-image", "cv2": "opencv-python-headless",
	"yaml": "PyYAML", "bs4": "beautifulsoup4", "attr": "attrs", "dateutil": "python-dateutil",
	"Crypto": "pycryptodome", "jwt": "PyJWT", "dotenv": "python-dotenv", "fitz": "PyMuPDF",
	"docx": "python-docx", "magic": "python-magic", "serial": "pyserial", "zmq": "pyzmq",
	"OpenSSL": "pyOpenSSL", "git": "GitPython", "google": "protobuf", "sentence_transformers": "sentence-transformers",
	"huggingface_hub": "huggingface-hub", "faiss": "faiss-cpu", "onnxruntime": "onnxruntime",
}

func requirementFor(top string) string {
	if d, ok := knownDists[top]; ok {
		return d
	}
	return strings.ReplaceAll(top, "_", "-")
}
