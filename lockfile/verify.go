package lockfile

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/hfpack/hfpack/lockfile/index"
	"github.com/hfpack/hfpack/lockfile/pylock"
	"github.com/hfpack/hfpack/manifest"
	"github.com/hfpack/hfpack/python/metadata"
	"github.com/hfpack/hfpack/python/pep440"
	"github.com/hfpack/hfpack/python/pep508"
	"github.com/hfpack/hfpack/python/tags"
)

// ErrStale reports a lock resolved from other requirements than the
// manifest's. Its message is documented in the README: pipelines match on it.
var ErrStale = errors.New("lock is stale")

// ErrMismatch reports a lock that contradicts itself, its wheels or the
// manifest: an edited version or name, a missing or extra package, a
// dependency graph that is not a solution of the requirements.
var ErrMismatch = errors.New("lock does not verify")

// ErrModelChanged reports model files that differ from the ones the lock
// pinned.
var ErrModelChanged = errors.New("model changed since the lock")

// VerifyOption configures Verify.
type VerifyOption func(*verifyOptions)

type verifyOptions struct {
	lockName string
	modelDir string
	hasher   FileHasher
	metadata map[string]*metadata.Metadata
	wheels   map[string]string
}

// WithLockName names the lock in messages as name (default "pylock.toml").
func WithLockName(name string) VerifyOption { return func(o *verifyOptions) { o.lockName = name } }

// WithModelCheck also compares the model files in dir (model.path, or a
// Hub model's fetched snapshot) with the ones the lock pinned, hashing
// with h.
func WithModelCheck(dir string, h FileHasher) VerifyOption {
	return func(o *verifyOptions) { o.modelDir, o.hasher = dir, h }
}

// WithWheelMetadata also confirms the lock against the METADATA of its
// wheels (keyed by normalised project name; see ReadWheelMetadata): each
// entry's name and version, its Requires-Python, and the dependency graph,
// every Requires-Dist evaluated for the target with the extras requested,
// and every locked version inside the specifiers that require it.
func WithWheelMetadata(md map[string]*metadata.Metadata) VerifyOption {
	return func(o *verifyOptions) { o.metadata = md }
}

// WithWheels also confirms the lock against its downloaded wheels (keyed
// by normalised project name, each already verified against its sha256):
// each file's size is the locked one, and WithWheelMetadata's checks run
// on the METADATA read from each.
func WithWheels(paths map[string]string) VerifyOption {
	return func(o *verifyOptions) { o.wheels = paths }
}

// Verify checks that l is a lock of m's requirements that hfpack can
// install as it says, without the network: it is what `hfpack lock --check`,
// `hfpack check` and `hfpack build` run before using a lock.
//
//   - tool.hfpack.requirements-digest is the manifest's (else ErrStale);
//   - the recorded target (tool.hfpack python, platform, glibc) is
//     consistent and is the one the environments and requires-python keys
//     describe; extras and groups are empty;
//   - each entry's name and version are its wheel's (filename), its url is
//     http(s), the wheel fits the target, its marker and
//     requires-python admit the target, and its index is where the
//     manifest routes that project;
//   - the entries form a solution of [python] requirements for the target:
//     every requirement whose marker holds names a locked package at a
//     version its specifier admits, every package's recorded dependencies
//     are locked, and every locked package is reachable from the
//     requirements through them (nothing missing, nothing extra);
//   - with WithWheels or WithWheelMetadata, the same against each wheel's
//     METADATA (and with WithWheels, each wheel's size);
//   - the lock pins the manifest's model (model.source, revision and
//     selection for a Hub model; else ErrStale);
//   - with WithModelCheck, the model files are the pinned ones (else
//     ErrModelChanged).
//
// Problems are reported together in one error wrapping ErrMismatch.
func Verify(m *manifest.Manifest, l *pylock.Lock, opts ...VerifyOption) error {
	o := &verifyOptions{lockName: pylock.FileName}
	for _, opt := range opts {
		opt(o)
	}
	if l.HFPack == nil || l.HFPack.RequirementsDigest != m.RequirementsDigest() {
		return fmt.Errorf("%w: %s no longer matches the requirements in %s: run hfpack lock %s and commit %s",
			ErrStale, o.lockName, m.File, m.File, pylock.FileName)
	}
	if err := verifyHubModel(m, l, o); err != nil {
		return err
	}
	v := &verifier{m: m, l: l, o: o, byName: map[string]*pylock.Package{}}
	if o.wheels != nil {
		v.readWheels()
	}
	v.check()
	if len(v.problems) > 0 {
		return &VerifyError{Lock: o.lockName, Manifest: m.File, Problems: v.problems}
	}
	if o.hasher != nil {
		return verifyModel(m, l, o)
	}
	return nil
}

// VerifyError lists what is wrong with a lock. It wraps ErrMismatch.
type VerifyError struct {
	// Lock and Manifest are the files as named in the message.
	Lock, Manifest string
	// Problems are one line each, in the lock's order.
	Problems []string
}

// maxProblems bounds how many problems the message lists.
const maxProblems = 10

func (e *VerifyError) Error() string {
	fix := fmt.Sprintf("run hfpack lock %s to relock, or restore %s", e.Manifest, e.Lock)
	if len(e.Problems) == 1 {
		return fmt.Sprintf("%v: %s: %s: %s", ErrMismatch, e.Lock, e.Problems[0], fix)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %s has %d problems (%s):", ErrMismatch, e.Lock, len(e.Problems), fix)
	for i, p := range e.Problems {
		if i == maxProblems {
			fmt.Fprintf(&b, "\n  and %d more", len(e.Problems)-i)
			break
		}
		b.WriteString("\n  " + p)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrMismatch) hold.
func (e *VerifyError) Unwrap() error { return ErrMismatch }

type verifier struct {
	m        *manifest.Manifest
	l        *pylock.Lock
	o        *verifyOptions
	env      pep508.Environment
	python   pep440.Version
	sup      *tags.Supported
	target   tags.Target
	byName   map[string]*pylock.Package
	versions map[string]pep440.Version
	problems []string
}

func (v *verifier) addf(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

func (v *verifier) check() {
	if !v.checkTarget() {
		return
	}
	v.versions = map[string]pep440.Version{}
	for i := range v.l.Packages {
		p := &v.l.Packages[i]
		v.byName[pylock.Normalize(p.Name)] = p
	}
	for i := range v.l.Packages {
		v.checkEntry(&v.l.Packages[i])
	}
	roots, ok := v.roots()
	if !ok {
		return
	}
	v.checkGraph(roots)
	if v.o.metadata != nil {
		v.checkMetadata(roots)
	}
}

// readWheels checks the sizes of the downloaded wheels and reads their
// METADATA for checkMetadata.
func (v *verifier) readWheels() {
	v.o.metadata = map[string]*metadata.Metadata{}
	for _, p := range v.l.Packages {
		n := pylock.Normalize(p.Name)
		path, ok := v.o.wheels[n]
		if !ok {
			continue // reported by checkMetadata
		}
		w := p.Wheels[0]
		if fi, err := os.Stat(path); err != nil {
			v.addf("package %s: %v", n, err)
			continue
		} else if w.Size > 0 && fi.Size() != w.Size {
			v.addf("package %s: size %d in the lock, but the wheel %s (sha256 %s) has %d bytes", n, w.Size, w.Name, w.SHA256, fi.Size())
		}
		md, err := ReadWheelMetadata(path)
		if err != nil {
			v.addf("package %s: %v", n, err)
			continue
		}
		v.o.metadata[n] = md
	}
}

// checkTarget reads the recorded target and checks the lock-wide keys.
func (v *verifier) checkTarget() bool {
	h := v.l.HFPack
	if h.Python != v.m.Python.Version {
		// Stop here: nothing else is checked against an untrusted target.
		v.addf("tool.hfpack.python %q is not python.version %q of %s", h.Python, v.m.Python.Version, v.m.File)
		return false
	}
	arch, ok := strings.CutPrefix(h.Platform, "manylinux_"+strings.ReplaceAll(h.Glibc, ".", "_")+"_")
	if !ok || arch == "" || h.Glibc == "" {
		v.addf("tool.hfpack.platform %q does not match tool.hfpack.glibc %q", h.Platform, h.Glibc)
		return false
	}
	v.target = tags.Target{Python: h.Python, Glibc: h.Glibc, Arch: arch}
	sup, err := v.target.Supported()
	if err != nil {
		v.addf("the recorded target: %v", err)
		return false
	}
	py, err := pep440.ParseVersion(fullPython(h.Python))
	if err != nil {
		v.addf("tool.hfpack.python %q: %v", h.Python, err)
		return false
	}
	v.sup, v.python, v.env = sup, py, Environment(v.target)
	if want := []string{EnvironmentMarker(v.target)}; !slices.Equal(v.l.Environments, want) {
		v.addf("environments %q is not the recorded target's %q", v.l.Environments, want)
	}
	if want := "==" + minorPython(h.Python) + ".*"; v.l.RequiresPython != want {
		v.addf("requires-python %q is not the recorded target's %q", v.l.RequiresPython, want)
	}
	for key, list := range map[string][]string{"extras": v.l.Extras, "dependency-groups": v.l.DependencyGroups, "default-groups": v.l.DefaultGroups} {
		if len(list) > 0 {
			v.addf("%s %q: hfpack locks have none", key, list)
		}
	}
	slices.Sort(v.problems) // the map above is unordered
	return true
}

// checkEntry checks one package against its wheel and the target.
func (v *verifier) checkEntry(p *pylock.Package) {
	n := pylock.Normalize(p.Name)
	if !pep508.ValidName(p.Name) {
		v.addf("package %q: not a valid project name", p.Name)
		return
	}
	w := p.Wheels[0] // Validate: exactly one
	wheel, err := tags.ParseWheel(w.Name)
	if err != nil {
		v.addf("package %s: wheel %q: %v", n, w.Name, err)
		return
	}
	if wheel.Name != n {
		v.addf("package %s: its wheel %s is of project %s, not %s", n, w.Name, wheel.Name, n)
	}
	pv, err := pep440.ParseVersion(p.Version)
	switch {
	case err != nil:
		v.addf("package %s: version %q is not a PEP 440 version", n, p.Version)
	case pv.String() != wheel.Version.String():
		v.addf("package %s: version %s does not match its wheel %s (version %s)", n, p.Version, w.Name, wheel.Version)
	default:
		v.versions[n] = pv
	}
	// The url is not compared with the name: some indexes serve files from
	// paths that do not end in the filename, and the sha256 pins the
	// content whatever the url (the download refuses anything else).
	if u, err := url.Parse(w.URL); err != nil || u.Scheme != "http" && u.Scheme != "https" {
		v.addf("package %s: wheel url %s is not an http or https URL", n, index.Redact(w.URL))
	}
	if !v.sup.Compatible(wheel) {
		v.addf("package %s: wheel %s does not fit the recorded target (%s): %s", n, w.Name, v.target, v.sup.Why(wheel))
	}
	if p.Marker != "" {
		mk, err := pep508.ParseMarker(p.Marker)
		switch {
		case err != nil:
			v.addf("package %s: marker %q: %v", n, p.Marker, err)
		case !mk.Evaluate(v.env):
			v.addf("package %s: marker %q excludes the recorded target, so installers would skip it", n, p.Marker)
		}
	}
	if p.RequiresPython != "" {
		rp, err := pep440.ParseSpecifierSet(p.RequiresPython)
		switch {
		case err != nil:
			v.addf("package %s: requires-python %q: %v", n, p.RequiresPython, err)
		case !rp.Match(v.python):
			v.addf("package %s: requires-python %s excludes the recorded Python %s", n, p.RequiresPython, v.python)
		}
	}
	v.checkIndex(n, p.Index)
	if p.Dependencies == nil {
		v.addf("package %s: no dependencies recorded (a lock from an older hfpack or another tool)", n)
	}
	for _, d := range p.Dependencies {
		switch dn := pylock.Normalize(d); {
		case dn == n:
			v.addf("package %s: lists itself as a dependency", n)
		case v.byName[dn] == nil:
			v.addf("package %s: depends on %s, which the lock does not contain", n, dn)
		}
	}
}

// checkIndex checks that index is where the manifest routes project n:
// the [[python.index]] that names it, else a general index or index-url.
func (v *verifier) checkIndex(n, got string) {
	var general []string
	for _, ix := range v.m.Python.Indexes {
		u, err := index.BaseURL(ix.URL)
		if err != nil {
			continue // the manifest's own validation reports it
		}
		if len(ix.Packages) == 0 {
			general = append(general, u)
			continue
		}
		if slices.ContainsFunc(ix.Packages, func(p string) bool { return pylock.Normalize(p) == n }) {
			if got != u {
				v.addf("package %s: index %s is not %s, the index %s pins it to", n, index.Redact(got), u, v.m.File)
			}
			return
		}
	}
	if u, err := index.BaseURL(v.m.Python.IndexURL); err == nil {
		general = append(general, u)
	}
	if !slices.Contains(general, got) {
		v.addf("package %s: index %s is none of the indexes %s sends it to (%s)", n, index.Redact(got), v.m.File, strings.Join(general, ", "))
	}
}

// roots returns the manifest's requirements whose markers hold for the
// target.
func (v *verifier) roots() ([]pep508.Requirement, bool) {
	reqs, err := requirements(v.m)
	if err != nil {
		v.addf("%v", err)
		return nil, false
	}
	var out []pep508.Requirement
	for _, r := range reqs {
		if r.Marker != nil && !r.Marker.Evaluate(v.env) {
			continue
		}
		out = append(out, r)
	}
	return out, true
}

// checkGraph checks that the entries are a solution of roots through the
// recorded dependencies: each requirement met, each package reachable.
func (v *verifier) checkGraph(roots []pep508.Requirement) {
	reached := map[string]bool{}
	var queue []string
	for _, r := range roots {
		n := r.NormalizedName()
		if r.URL != "" {
			v.addf("requirement %q of %s: direct URL requirements cannot be locked", r.String(), v.m.File)
			continue
		}
		p := v.byName[n]
		if p == nil {
			v.addf("requirement %q of %s: %s is not in the lock", r.String(), v.m.File, n)
			continue
		}
		if ver, ok := v.versions[n]; ok && !r.Specifier.Match(ver) {
			v.addf("requirement %q of %s: the lock has %s %s", r.String(), v.m.File, n, p.Version)
		}
		if !reached[n] {
			reached[n] = true
			queue = append(queue, n)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, d := range v.byName[n].Dependencies {
			dn := pylock.Normalize(d)
			if v.byName[dn] != nil && !reached[dn] {
				reached[dn] = true
				queue = append(queue, dn)
			}
		}
	}
	for _, p := range v.l.Packages {
		if n := pylock.Normalize(p.Name); !reached[n] {
			v.addf("package %s: nothing in the requirements of %s or the locked dependencies needs it", n, v.m.File)
		}
	}
}

// checkMetadata confirms entries and graph against each wheel's METADATA.
func (v *verifier) checkMetadata(roots []pep508.Requirement) {
	requires := map[string][]pep508.Requirement{}
	for _, p := range v.l.Packages {
		n := pylock.Normalize(p.Name)
		md := v.o.metadata[n]
		if md == nil {
			v.addf("package %s: the METADATA of its wheel was not read", n)
			continue
		}
		if mn := pylock.Normalize(md.Name); mn != n {
			v.addf("package %s: its wheel %s says in METADATA that it is %s", n, p.Wheels[0].Name, mn)
		}
		if mv, err := pep440.ParseVersion(md.Version); err != nil || mv.String() != p.Version {
			v.addf("package %s: version %s, but its wheel's METADATA says %s", n, p.Version, md.Version)
		}
		if rp, err := pep440.ParseSpecifierSet(md.RequiresPython); err != nil {
			v.addf("package %s: METADATA Requires-Python %q: %v", n, md.RequiresPython, err)
		} else if !rp.Match(v.python) {
			v.addf("package %s: its METADATA requires Python %s; the recorded target has %s", n, md.RequiresPython, v.python)
		}
		for _, line := range md.RequiresDist {
			r, err := pep508.ParseRequirement(line)
			if err != nil {
				v.addf("package %s: METADATA Requires-Dist %q: %v", n, line, err)
				continue
			}
			requires[n] = append(requires[n], r)
		}
	}
	if len(v.problems) > 0 {
		return
	}
	// Walk package keys (name, extra) from the requirements, as the
	// resolver does, collecting the edges METADATA implies.
	type key = pkgKey
	edges := map[string]map[string]bool{}
	seen := map[key]bool{}
	var queue []key
	push := func(r pep508.Requirement) {
		n := r.NormalizedName()
		for _, k := range append([]key{{n, ""}}, extrasOf(n, r.Extras)...) {
			if !seen[k] {
				seen[k] = true
				queue = append(queue, k)
			}
		}
	}
	for _, r := range roots {
		push(r)
	}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		if edges[k.name] == nil {
			edges[k.name] = map[string]bool{}
		}
		env := v.env
		env.Extra = k.extra
		for _, r := range requires[k.name] {
			if r.Marker == nil && k.extra != "" || r.Marker != nil && !r.Marker.Evaluate(env) {
				continue // not needed by this key (or already by the project itself)
			}
			t := r.NormalizedName()
			who := k.name + " " + v.byName[k.name].Version
			switch {
			case r.URL != "":
				v.addf("package %s: its METADATA requires %s, a direct URL reference", k.name, r.String())
				continue
			case v.byName[t] == nil:
				v.addf("package %s: its METADATA requires %s, which the lock does not contain", k.name, r.String())
				continue
			}
			if ver, ok := v.versions[t]; ok && !r.Specifier.Match(ver) {
				v.addf("%s requires %s, but the lock has %s %s", who, r.String(), t, v.byName[t].Version)
			}
			if t != k.name {
				edges[k.name][t] = true
			}
			push(r)
		}
	}
	for _, p := range v.l.Packages {
		n := pylock.Normalize(p.Name)
		recorded := map[string]bool{}
		for _, d := range p.Dependencies {
			recorded[pylock.Normalize(d)] = true
		}
		for _, t := range sortedKeys(edges[n]) {
			if !recorded[t] {
				v.addf("package %s: its METADATA requires %s for the target, but the lock's dependencies of %s do not list it", n, t, n)
			}
		}
		for _, t := range sortedKeys(recorded) {
			if !edges[n][t] {
				v.addf("package %s: the lock lists %s as its dependency, but its METADATA does not require it for the target", n, t)
			}
		}
	}
}

// pkgKey is a project, or one of its extras, as the resolver sees them.
type pkgKey struct{ name, extra string }

func extrasOf(name string, extras []string) []pkgKey {
	out := make([]pkgKey, len(extras))
	for i, e := range extras {
		out[i] = pkgKey{name, pep508.NormalizeName(e)}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// verifyHubModel reports a lock pinning another model than the manifest's
// model.source, revision and selection (or a Hub model the manifest no
// longer names) as stale.
func verifyHubModel(m *manifest.Manifest, l *pylock.Lock, o *verifyOptions) error {
	locked := l.HFPack.Model
	if HubModelMatches(m, locked) {
		if locked != nil && len(l.HFPack.ModelFiles) == 0 {
			return fmt.Errorf("%w: %s pins %s but no model files: run hfpack lock %s", ErrStale, o.lockName, locked.Source, m.File)
		}
		return nil
	}
	what := "a local model directory"
	if locked != nil {
		what = fmt.Sprintf("%s at %s", locked.Source, locked.Revision)
	}
	return fmt.Errorf("%w: %s pins %s, not the [model] in %s: run hfpack lock %s and commit %s",
		ErrStale, o.lockName, what, m.File, m.File, pylock.FileName)
}

// verifyModel compares the model directory with the pinned model files.
func verifyModel(m *manifest.Manifest, l *pylock.Lock, o *verifyOptions) error {
	pinned := l.HFPack.ModelFiles
	got, err := HashModelFilesWith(o.modelDir, o.hasher)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		got = nil // every pinned file is missing; none pinned, nothing changed
	case err != nil:
		return fmt.Errorf("hashing the model: %w", err)
	}
	want := map[string]pylock.ModelFile{}
	for _, f := range pinned {
		want[f.Path] = f
	}
	var diffs []string
	for _, f := range got {
		w, ok := want[f.Path]
		switch {
		case !ok:
			diffs = append(diffs, f.Path+" is new")
		case w.SHA256 != f.SHA256 || w.Size != f.Size:
			diffs = append(diffs, f.Path+" changed")
		}
		delete(want, f.Path)
	}
	for _, f := range pinned {
		if _, gone := want[f.Path]; gone {
			diffs = append(diffs, f.Path+" is missing")
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	if len(diffs) > 5 {
		diffs = append(diffs[:5], fmt.Sprintf("and %d more", len(diffs)-5))
	}
	return fmt.Errorf("%w: %s (pinned in %s): run hfpack lock %s to pin the new model, or restore it",
		ErrModelChanged, strings.Join(diffs, ", "), o.lockName, m.File)
}

// ReadWheelMetadata reads the METADATA of the wheel at path: the one
// top-level *.dist-info/METADATA member.
func ReadWheelMetadata(path string) (*metadata.Metadata, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("reading wheel metadata: %w", err)
	}
	defer zr.Close()
	var found *zip.File
	for _, f := range zr.File {
		dir, file, ok := strings.Cut(f.Name, "/")
		if !ok || file != "METADATA" || !strings.HasSuffix(dir, ".dist-info") {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("reading wheel metadata of %s: two METADATA files (%s, %s)", path, found.Name, f.Name)
		}
		found = f
	}
	if found == nil {
		return nil, fmt.Errorf("reading wheel metadata of %s: no .dist-info/METADATA", path)
	}
	rc, err := found.Open()
	if err != nil {
		return nil, fmt.Errorf("reading wheel metadata of %s: %w", path, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, metadata.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading wheel metadata of %s: %w", path, err)
	}
	md, err := metadata.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("reading wheel metadata of %s: %w", path, err)
	}
	return md, nil
}
