package lockfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/hfpack/hfpack/hub"
	"github.com/hfpack/hfpack/lockfile/cache"
	"github.com/hfpack/hfpack/lockfile/index"
	"github.com/hfpack/hfpack/lockfile/pylock"
	"github.com/hfpack/hfpack/lockfile/resolve"
	"github.com/hfpack/hfpack/manifest"
	"github.com/hfpack/hfpack/python/pep440"
	"github.com/hfpack/hfpack/python/pep508"
	"github.com/hfpack/hfpack/python/tags"
)

// Option configures Lock.
type Option func(*options)

type options struct {
	source      index.Source
	cacheDir    string
	indexOpts   []index.Option
	upgrade     bool
	upgradePkgs []string
	prereleases resolve.PrereleasePolicy
	progress    func(project string)
	warn        func(msg string)
	noModel     bool
	modelHasher FileHasher
	// A Hub model (model.source): see hubmodel.go.
	hub          *hub.Client
	upgradeModel bool
}

// WithSource resolves from src instead of the manifest's indexes.
func WithSource(src index.Source) Option { return func(o *options) { o.source = src } }

// WithCacheDir sets the cache directory for index pages, metadata and
// model hashes (default: $HFPACK_CACHE_DIR, else the user cache dir).
func WithCacheDir(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithIndexOptions passes options to the index clients (retries, an HTTP
// client, a logger).
func WithIndexOptions(opts ...index.Option) Option {
	return func(o *options) { o.indexOpts = append(o.indexOpts, opts...) }
}

// WithUpgrade ignores the previous lock's versions: every package moves to
// the newest version allowed ("hfpack lock --upgrade").
func WithUpgrade(all bool) Option { return func(o *options) { o.upgrade = all } }

// WithUpgradePackages ignores the previous lock's versions of the named
// packages only ("--upgrade-package NAME").
func WithUpgradePackages(names ...string) Option {
	return func(o *options) { o.upgradePkgs = append(o.upgradePkgs, names...) }
}

// WithPrereleases sets the pre-release policy (default:
// resolve.PrereleasesIfNecessaryOrExplicit, uv's default).
func WithPrereleases(p resolve.PrereleasePolicy) Option {
	return func(o *options) { o.prereleases = p }
}

// WithProgress calls fn with each project name once its index page has been
// read. fn must be safe for concurrent use.
func WithProgress(fn func(project string)) Option { return func(o *options) { o.progress = fn } }

// WithWarnings calls fn with each warning of the resolution (an extra a
// project does not provide, a model directory that does not exist yet).
func WithWarnings(fn func(msg string)) Option { return func(o *options) { o.warn = fn } }

// WithoutModelFiles leaves [[tool.hfpack.model-files]] out of the lock.
func WithoutModelFiles() Option { return func(o *options) { o.noModel = true } }

// WithModelHasher hashes the model files with h (for example the build's
// file-hash cache) instead of the lock's own cache.
func WithModelHasher(h FileHasher) Option { return func(o *options) { o.modelHasher = h } }

// Lock resolves the manifest's requirements for target and returns the
// lock to write beside it. Versions in prev (an earlier lock, or nil) are
// kept where they still satisfy the requirements, so that only what changed
// moves. The result depends only on the manifest, the indexes' contents,
// prev and the model files: locking twice gives identical bytes.
func Lock(ctx context.Context, m *manifest.Manifest, target tags.Target, prev *pylock.Lock, opts ...Option) (*pylock.Lock, error) {
	o := &options{}
	for _, opt := range opts {
		opt(o)
	}
	reqs, err := requirements(m)
	if err != nil {
		return nil, err
	}
	c, err := cache.Open(o.cacheDir)
	if err != nil {
		return nil, err
	}
	src := o.source
	if src == nil {
		if src, err = Source(m, append([]index.Option{index.WithCache(c)}, o.indexOpts...)...); err != nil {
			return nil, err
		}
	}
	prefs, wheels, err := preferences(prev, o)
	if err != nil {
		return nil, err
	}
	p, err := NewProvider(src, target, wheels)
	if err != nil {
		return nil, err
	}
	p.onFetch = o.progress
	res, err := resolve.Resolve(ctx, p, reqs, Environment(target),
		resolve.WithPreferences(prefs),
		resolve.WithUpgrade(o.upgrade),
		resolve.WithUpgradePackages(o.upgradePkgs...),
		resolve.WithPrereleases(o.prereleases))
	if err != nil {
		return nil, err
	}
	for _, w := range res.Warnings {
		o.warnf("%s", w)
	}
	pkgs, err := packages(ctx, src, res)
	if err != nil {
		return nil, err
	}
	l := &pylock.Lock{
		LockVersion:    pylock.LockVersion,
		CreatedBy:      pylock.CreatedBy,
		Environments:   []string{EnvironmentMarker(target)},
		RequiresPython: "==" + minorPython(target.Python) + ".*",
		Packages:       pkgs,
		HFPack: &pylock.HFPack{
			RequirementsDigest: m.RequirementsDigest(),
			Python:             target.Python,
			Platform:           Platform(target),
			Glibc:              target.Glibc,
		},
	}
	if m.Model.Source != "" && !o.noModel {
		if l.HFPack.Model, l.HFPack.ModelFiles, err = lockHubModel(ctx, m, prev, o, c.Dir()); err != nil {
			return nil, err
		}
	} else if !o.noModel {
		var files []pylock.ModelFile
		var err error
		if o.modelHasher != nil {
			files, err = HashModelFilesWith(m.ModelDir(), o.modelHasher)
		} else {
			files, err = HashModelFiles(m.ModelDir(), c.Dir())
		}
		switch {
		case errors.Is(err, fs.ErrNotExist):
			o.warnf("model directory %s does not exist: the lock records no model files", m.ModelDir())
		case err != nil:
			return nil, err
		}
		l.HFPack.ModelFiles = files
	}
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("lock for %s: %w", m.File, err)
	}
	if err := Verify(m, l); err != nil && o.source == nil {
		// What every reader will check must hold of what lock writes.
		return nil, fmt.Errorf("lock for %s: the new lock does not verify (a bug in hfpack): %w", m.File, err)
	}
	return l, nil
}

func (o *options) warnf(format string, args ...any) {
	if o.warn != nil {
		o.warn(fmt.Sprintf(format, args...))
	}
}

// Source returns the manifest's indexes as one index.Source with the
// first-index strategy: a package named by a [[python.index]] entry comes
// only from that index, any other from the default index-url.
func Source(m *manifest.Manifest, opts ...index.Option) (*index.Multi, error) {
	routes := make([]index.Route, 0, len(m.Python.Indexes))
	for _, ix := range m.Python.Indexes {
		routes = append(routes, index.Route{URL: ix.URL, Packages: ix.Packages})
	}
	return index.NewMulti(m.Python.IndexURL, routes, opts...)
}

// requirements parses the manifest's requirement strings.
func requirements(m *manifest.Manifest) ([]pep508.Requirement, error) {
	out := make([]pep508.Requirement, 0, len(m.Python.Requirements))
	for _, s := range m.Python.Requirements {
		r, err := pep508.ParseRequirement(s)
		if err != nil {
			return nil, fmt.Errorf("%s: python.requirements: %w", m.File, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// preferences returns the versions and wheels of prev to keep.
func preferences(prev *pylock.Lock, o *options) (map[string]pep440.Version, map[string]string, error) {
	versions, wheels := map[string]pep440.Version{}, map[string]string{}
	if prev == nil || o.upgrade {
		return versions, wheels, nil
	}
	skip := map[string]bool{}
	for _, n := range o.upgradePkgs {
		if !pep508.ValidName(n) {
			return nil, nil, fmt.Errorf("--upgrade-package %q: not a valid project name", n)
		}
		skip[pep508.NormalizeName(n)] = true
	}
	for _, p := range prev.Packages {
		n := pep508.NormalizeName(p.Name)
		v, err := pep440.ParseVersion(p.Version)
		if err != nil || skip[n] {
			continue
		}
		versions[n] = v
		if len(p.Wheels) == 1 {
			wheels[n] = p.Wheels[0].Name
		}
	}
	return versions, wheels, nil
}

// packages turns the resolution into lock entries, filling in sizes and
// hashes the index pages did not give.
func packages(ctx context.Context, src index.Source, res *resolve.Result) ([]pylock.Package, error) {
	files := make([]index.File, len(res.Packages))
	for i, rp := range res.Packages {
		f, ok := rp.Candidate.Artifact.(index.File)
		if !ok {
			return nil, fmt.Errorf("package %s %s: no wheel chosen", rp.Name, rp.Version)
		}
		files[i] = f
	}
	out := make([]pylock.Package, len(res.Packages))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, rp := range res.Packages {
		f := files[i]
		g.Go(func() error {
			w, err := wheel(gctx, src, f)
			if err != nil {
				return fmt.Errorf("package %s %s: %w", rp.Name, rp.Version, err)
			}
			out[i] = pylock.Package{
				Name:           rp.Name,
				Version:        rp.Version.String(),
				RequiresPython: rp.RequiresPython.String(),
				Dependencies:   append([]string{}, rp.Dependencies...), // recorded even when empty
				Index:          f.Index,
				Wheels:         []pylock.Wheel{w},
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// wheel is the lock entry of f: the index's hash, and its size (asked for
// when the page does not give it). A wheel the index gives no sha256 for is
// refused: nothing could verify the download the lock would pin.
func wheel(ctx context.Context, src index.Source, f index.File) (pylock.Wheel, error) {
	w := pylock.Wheel{Name: f.Filename, URL: f.URL, UploadTime: f.UploadTime, Size: f.Size, SHA256: f.SHA256}
	if w.SHA256 == "" {
		return w, fmt.Errorf("locking %s: the index gave no sha256, so the wheel cannot be verified", f.Filename)
	}
	if w.Size <= 0 {
		size, err := src.Size(ctx, f)
		if err != nil {
			return w, err
		}
		w.Size = size
	}
	return w, nil
}

// Environment is the marker environment of target: CPython on Linux. The
// python_full_version is the target's Python with ".0" added when it names
// only the minor version.
func Environment(target tags.Target) pep508.Environment {
	arch := target.Arch
	if arch == "" {
		arch = "x86_64"
	}
	return pep508.LinuxEnvironment(fullPython(target.Python), arch)
}

// EnvironmentMarker is the PEP 508 marker the lock's environments key
// records for target.
func EnvironmentMarker(target tags.Target) string {
	env := Environment(target)
	return fmt.Sprintf("implementation_name == '%s' and platform_machine == '%s' and python_version == '%s' and sys_platform == '%s'",
		env.ImplementationName, env.PlatformMachine, env.PythonVersion, env.SysPlatform)
}

// Platform is the target's platform tag, such as "manylinux_2_35_x86_64".
func Platform(target tags.Target) string {
	arch := target.Arch
	if arch == "" {
		arch = "x86_64"
	}
	if target.Musl != "" {
		return "musllinux_" + strings.ReplaceAll(target.Musl, ".", "_") + "_" + arch
	}
	return "manylinux_" + strings.ReplaceAll(target.Glibc, ".", "_") + "_" + arch
}

func fullPython(v string) string {
	if strings.Count(v, ".") == 1 {
		return v + ".0"
	}
	return v
}

func minorPython(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// Change is a package whose locked version moved.
type Change struct {
	// Name is the normalised project name.
	Name string `json:"name"`
	// From is the previous version, "" for an added package.
	From string `json:"from,omitempty"`
	// To is the new version, "" for a removed package.
	To string `json:"to,omitempty"`
}

// Kind is "added", "removed", "upgraded" or "downgraded".
func (c Change) Kind() string {
	switch {
	case c.From == "":
		return "added"
	case c.To == "":
		return "removed"
	}
	from, ferr := pep440.ParseVersion(c.From)
	to, terr := pep440.ParseVersion(c.To)
	if ferr == nil && terr == nil && to.Compare(from) < 0 {
		return "downgraded"
	}
	return "upgraded"
}

// Diff lists the packages whose versions differ between prev (nil for
// none) and next, sorted by name.
func Diff(prev, next *pylock.Lock) []Change {
	old, cur := map[string]string{}, map[string]string{}
	var names []string
	add := func(m map[string]string, l *pylock.Lock) {
		if l == nil {
			return
		}
		for _, p := range l.Packages {
			n := pylock.Normalize(p.Name)
			m[n] = p.Version
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	add(old, prev)
	add(cur, next)
	slices.Sort(names)
	var out []Change
	for _, n := range names {
		if old[n] != cur[n] {
			out = append(out, Change{Name: n, From: old[n], To: cur[n]})
		}
	}
	return out
}
