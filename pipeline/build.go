package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hfpack/hfpack/baseimages"
	"github.com/hfpack/hfpack/builder"
	buildcache "github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/imports"
	"github.com/hfpack/hfpack/builder/modelcheck"
	"github.com/hfpack/hfpack/imagespec"
	"github.com/hfpack/hfpack/internal/fsio"
	"github.com/hfpack/hfpack/lockfile"
	"github.com/hfpack/hfpack/lockfile/cache"
	"github.com/hfpack/hfpack/lockfile/index"
	"github.com/hfpack/hfpack/lockfile/pylock"
	"github.com/hfpack/hfpack/templates"
)

// Image paths of the files hfpack adds besides the model and the wheels.
const (
	WorkerDir     = imagespec.WorkerDir
	SidecarConfig = imagespec.DefaultPath
)

// BuildOptions configure Prepare.
type BuildOptions struct {
	// CacheDir is the root of hfpack's caches; "" means cache.DefaultDir().
	CacheDir string
	// Sidecar is the linux/amd64 hfpack-sidecar binary; "" finds it with FindSidecar.
	Sidecar string
	// Version is recorded in the image's labels.
	Version string
	// SkipWheelCheck leaves out builder.CheckWheels (for --plan and
	// --emit-llb, which install nothing).
	SkipWheelCheck bool
	// Logf reports progress lines; nil discards them.
	Logf func(format string, args ...any)
}

// Prepared is everything a build needs, checked.
type Prepared struct {
	Selection baseimages.Selection
	Model     *modelcheck.Report
	Imports   *imports.Result
	Inputs    builder.Inputs
	// BaseImage is the base read from a local OCI layout; nil for a
	// registry base, which the builder resolves itself.
	BaseImage v1.Image
	// BuildCache is the directory of the layer cache.
	BuildCache string
	// Warnings are the preflight's warnings, to print before building.
	Warnings []string
}

// CacheRoot returns dir, or hfpack's default cache directory.
func CacheRoot(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	return cache.DefaultDir()
}

// Prepare runs Preflight (every check a build makes before writing a byte:
// lock, base selection, model pin, wheels, imports), then turns its result
// into the builder's inputs: app files, sidecar, base, Python runtime and
// the digests the image is labelled with. Nothing here writes outside the
// cache.
//
// The model's files are read once, by NewPlan: Prepare checks their sizes
// and the hashes the cache remembers against the lock, and leaves the rest
// to Inputs.ModelCheck, which NewPlan runs on the hashes it computes in the
// read that makes the model's layers. A model changed since the lock is
// refused either way with the same error as CheckModelPinned (and `hfpack
// check`), before anything is published; when Prepare itself fails after
// taking a file on trust, the model is checked first, so that build refuses
// a changed model before anything else, as check does.
//
// The Prepared names files in the caches (wheels, the model's records):
// hold OpenBuildCache from before Prepare until the build is done, so that
// a prune (PruneCache) waits for it.
func (p *Project) Prepare(ctx context.Context, o BuildOptions) (pr *Prepared, err error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	d := &deferredModel{}
	p.deferModel = d
	defer func() {
		p.deferModel = nil
		if err != nil && d.assumed.Load() > 0 && ctx.Err() == nil {
			if verr := p.verifyLock(p.CacheDir); verr != nil {
				err = verr
			}
		}
	}()
	pf, err := p.Preflight(ctx, PreflightOptions{CacheDir: o.CacheDir, FetchWheels: true, CheckWheels: !o.SkipWheelCheck, Logf: logf})
	if err != nil {
		return nil, err
	}
	sel, root := pf.Selection, pf.CacheRoot
	pr = &Prepared{Selection: sel, Model: pf.Model, Imports: pf.Imports, Warnings: pf.Warnings, BuildCache: buildCacheDir(root)}
	app := pf.AppFiles
	if pf.Base == nil { // the wheel check did not prepare them
		if app, err = p.AppFiles(root, sel, pf.Imports); err != nil {
			return nil, err
		}
	}
	if o.Sidecar == "" {
		if o.Sidecar, err = FindSidecar(); err != nil {
			return nil, err
		}
	}
	base, runtime := pf.Base, pf.Runtime
	if base == nil {
		b, err := p.Base(sel)
		if err != nil {
			return nil, err
		}
		base = &b
	}
	pr.BaseImage = base.Image
	manifestDigest, lockDigest, err := p.digests()
	if err != nil {
		return nil, err
	}
	if pf.Base == nil {
		if runtime, err = Runtime(ctx, root, sel, logf); err != nil {
			return nil, err
		}
	}
	pr.Inputs = builder.Inputs{
		Runtime:         runtime,
		Name:            p.Manifest.Name,
		Base:            base.Input,
		Wheels:          pf.Wheels,
		ModelDir:        p.ModelDir(),
		AppFiles:        app,
		SidecarPath:     o.Sidecar,
		ManifestDigest:  manifestDigest,
		LockDigest:      lockDigest,
		Version:         o.Version,
		SourceDateEpoch: pf.SourceDateEpoch,
	}
	if dir := p.ModelDir(); dir != "" && p.Lock != nil {
		pr.Inputs.ModelCheck = p.modelCheck(root, dir)
	}
	// What NewPlan would refuse before reading a file (a missing sidecar,
	// a model symlink leaving the directory), refused here, after the
	// model's check.
	if _, err := builder.PlanLayers(pr.Inputs); err != nil {
		return nil, err
	}
	return pr, nil
}

// digests are the sha256 of the manifest and the lock, as the image's
// labels record them.
func (p *Project) digests() (manifest, lock string, err error) {
	lockBytes, err := os.ReadFile(p.LockPath)
	if err != nil {
		return "", "", fmt.Errorf("reading lock: %w", err)
	}
	manifestBytes, err := os.ReadFile(p.Manifest.File)
	if err != nil {
		return "", "", fmt.Errorf("reading manifest: %w", err)
	}
	return digestOf(manifestBytes), digestOf(lockBytes), nil
}

// Runtime fetches the relocatable Python the selection adds to its base
// into the cache under root; nil when the base has its own.
func Runtime(ctx context.Context, root string, sel baseimages.Selection, logf func(string, ...any)) (*builder.Runtime, error) {
	rt := sel.Runtime
	if rt == nil {
		return nil, nil
	}
	dir, err := FetchRuntime(ctx, root, rt, nil)
	if err != nil {
		return nil, err
	}
	if logf != nil {
		logf("python runtime %s", rt.Version)
	}
	return &builder.Runtime{Dir: dir, Prefix: rt.Prefix, URL: rt.URL, SHA256: rt.SHA256, Catalog: rt.Catalog}, nil
}

// SourceDateEpoch reads SOURCE_DATE_EPOCH; unset means 0, the Unix epoch.
func SourceDateEpoch() (int64, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds since 1970", s)
	}
	return n, nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// SitePackages is where wheels go for an interpreter: the distribution's
// own dist-packages for a system Python in /usr/bin (Debian, Ubuntu), else
// PREFIX/lib/pythonX.Y/site-packages.
func SitePackages(python, version string) string {
	if path.Dir(python) == "/usr/bin" {
		return "/usr/lib/python3/dist-packages"
	}
	prefix := path.Dir(path.Dir(python))
	return path.Join(prefix, "lib", "python"+version, "site-packages")
}

// CheckModel validates the model directory against the manifest and the
// locked transformers.
func (p *Project) CheckModel() (*modelcheck.Report, error) {
	m := p.Manifest
	opts := modelcheck.Options{TrustRemoteCode: m.Model.TrustRemoteCode}
	if m.Model.Handler == "" {
		opts.Task = m.Model.Task // a custom handler loads the model its own way
	}
	if p.Lock != nil {
		if t, ok := p.Lock.Package("transformers"); ok {
			opts.Transformers = t.Version
		}
	}
	dir := p.ModelDir()
	if dir == "" {
		return nil, fmt.Errorf("model %s has not been fetched", m.Model.Source)
	}
	return modelcheck.Check(dir, opts)
}

// Source opens the manifest's indexes with the cache under root.
func (p *Project) Source(root string) (*index.Multi, error) {
	c, err := cache.Open(root) // the same cache hfpack lock fills
	if err != nil {
		return nil, err
	}
	m := p.Manifest
	routes := make([]index.Route, 0, len(m.Python.Indexes))
	for _, ix := range m.Python.Indexes {
		routes = append(routes, index.Route{URL: ix.URL, Packages: ix.Packages})
	}
	return index.NewMulti(m.Python.IndexURL, routes, index.WithCache(c))
}

// FetchWheels downloads every locked wheel into the cache (verifying its
// sha256), confirms the lock against the wheels (lockfile.WithWheels) and
// returns them for the builder.
func (p *Project) FetchWheels(ctx context.Context, root string, logf func(string, ...any)) ([]builder.Wheel, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	src, err := p.Source(root)
	if err != nil {
		return nil, err
	}
	out := make([]builder.Wheel, 0, len(p.Lock.Packages))
	paths := map[string]string{}
	for _, pkg := range p.Lock.Packages {
		if len(pkg.Wheels) != 1 {
			return nil, fmt.Errorf("lock: package %s has %d wheels; hfpack installs exactly one: run hfpack lock", pkg.Name, len(pkg.Wheels))
		}
		w := pkg.Wheels[0]
		path, err := src.Fetch(ctx, index.File{Filename: w.Name, URL: w.URL, SHA256: w.SHA256, Size: w.Size, Index: pkg.Index})
		if err != nil {
			return nil, fmt.Errorf("downloading %s: %w", w.Name, err)
		}
		logf("wheel %s", w.Name)
		paths[pylock.Normalize(pkg.Name)] = path
		out = append(out, builder.Wheel{Name: pkg.Name, Version: pkg.Version, Filename: w.Name, Path: path, SHA256: w.SHA256, Size: w.Size, URL: w.URL})
	}
	// The same verification as CheckLock, now also against the verified
	// wheels: sizes, and each one's METADATA (name, version, dependencies).
	if err := lockfile.Verify(p.Manifest, p.Lock, lockfile.WithLockName(p.RelLock()), lockfile.WithWheels(paths)); err != nil {
		return nil, err
	}
	return out, nil
}

// Provided maps the top-level modules of the wheels to their distributions,
// reading each wheel's file list at most once per sha256 (remembered in mc).
func Provided(wheels []builder.Wheel, mc *imports.ModuleCache) (map[string]string, error) {
	out := map[string]string{}
	for _, w := range wheels {
		mods, err := mc.ModulesOfWheelFile(w.Path, w.SHA256)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", w.Filename, err)
		}
		for _, mod := range mods {
			out[mod] = w.Name
		}
	}
	return out, nil
}

// moduleCacheDir is where what each wheel provides is remembered.
func moduleCacheDir(root string) string { return filepath.Join(root, "imports") }

// CheckImports maps every import of the handler and its local modules to
// the standard library, the locked wheels or the handler's own files. The
// result comes back with the error when an import is not provided, so
// callers can still report what did resolve. What each wheel provides is
// remembered under the cache root.
func (p *Project) CheckImports(wheels []builder.Wheel, root string) (*imports.Result, error) {
	provided, err := Provided(wheels, imports.NewModuleCache(moduleCacheDir(root)))
	if err != nil {
		return nil, err
	}
	res, err := imports.Analyze(p.Manifest.HandlerPath(), imports.Env{Python: p.Manifest.Python.Version, Provided: provided})
	if err != nil {
		return nil, err
	}
	return res, res.Err()
}

// AppFiles lists the worker, the handler with the local modules the
// preflight's import check found (res), and the sidecar config, staging
// generated files under root.
func (p *Project) AppFiles(root string, sel baseimages.Selection, res *imports.Result) ([]builder.File, error) {
	m := p.Manifest
	stage := filepath.Join(root, "staging")
	var files []builder.File
	worker, err := fs.ReadFile(templates.Worker, templates.WorkerScript)
	if err != nil {
		return nil, err
	}
	src, err := stageFile(stage, worker)
	if err != nil {
		return nil, err
	}
	files = append(files, builder.File{Path: path.Join(WorkerDir, templates.WorkerScript), Source: src, Mode: 0o644})
	handler := ""
	if h := m.HandlerPath(); h != "" {
		if res == nil {
			return nil, fmt.Errorf("handler %s: no import analysis (run Preflight first)", h)
		}
		dir := filepath.Dir(h)
		for _, rel := range res.Files {
			files = append(files, builder.File{Path: path.Join(WorkerDir, rel), Source: filepath.Join(dir, filepath.FromSlash(rel)), Mode: 0o644})
		}
		handler = filepath.Base(h)
	}
	cfg := p.SidecarConfig(sel, handler)
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	if src, err = stageFile(stage, append(b, '\n')); err != nil {
		return nil, err
	}
	files = append(files, builder.File{Path: SidecarConfig, Source: src, Mode: 0o644})
	return files, nil
}

// SidecarConfig is the sidecar's configuration in the image: the in-image
// paths, the selection's interpreter, the handler module (a file name in
// the worker directory; "" for the default handler) and [serving].
func (p *Project) SidecarConfig(sel baseimages.Selection, handler string) imagespec.Config {
	m := p.Manifest
	return imagespec.Config{
		Python:          sel.PythonPath,
		WorkerDir:       WorkerDir,
		ModelDir:        imagespec.ModelDir,
		Handler:         handler,
		Task:            m.Model.Task,
		MaxBatchSize:    m.Serving.MaxBatchSize,
		MaxBatchDelay:   imagespec.Duration(m.Serving.MaxBatchDelay.Duration),
		RequestTimeout:  imagespec.Duration(m.Serving.RequestTimeout.Duration),
		MaxRequestBytes: m.Serving.MaxRequestBytes,

		MaxConcurrentStreams: m.Serving.MaxConcurrentStreams,
		StreamTimeout:        imagespec.Duration(m.Serving.StreamTimeout.Duration),

		Workers: m.Serving.Workers,
		GPUs:    m.Accelerator.Count,
	}
}

// stageFile stores generated bytes under dir by content hash and returns the
// path: the builder reads every file from disk.
func stageFile(dir string, b []byte) (string, error) {
	sum := sha256.Sum256(b)
	p := filepath.Join(dir, hex.EncodeToString(sum[:]))
	if got, err := os.ReadFile(p); err == nil && string(got) == string(b) {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return p, fsio.WriteFile(p, b, 0o644)
}

// Base is the selected base as the builder takes it.
type Base struct {
	Input builder.BaseInput
	// Image is the base read from a local OCI layout; nil for a registry
	// base, which the builder resolves itself.
	Image v1.Image
}

// Base returns what the builder needs to find the selected base and build
// on it: a local layout is opened here (its path is machine-specific and
// stays out of the image), a registry base is left to the builder.
func (p *Project) Base(sel baseimages.Selection) (Base, error) {
	m := p.Manifest
	env := make([]string, 0, len(sel.Env))
	for _, e := range sel.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	b := Base{Input: builder.BaseInput{
		Ref:          sel.Base.Ref,
		Digest:       sel.Base.Digest,
		Pull:         sel.Base.Mirror,
		Catalog:      sel.Base.Catalog,
		Env:          env,
		GPU:          m.Accelerator.GPU(),
		Python:       sel.PythonPath,
		SitePackages: SitePackages(sel.PythonPath, sel.Python),
	}}
	lr, ok := imagespec.ParseLayoutRef(sel.Base.Ref)
	if !ok {
		return b, nil
	}
	lr = lr.In(m.Dir)
	img, err := LayoutImage(lr.Dir, lr.Digest)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Base{}, fmt.Errorf("base %s: %w (the demo builds it: make demo)", sel.Base.Ref, err)
		}
		return Base{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return Base{}, err
	}
	b.Input.Digest, b.Input.Layout, b.Image = d.String(), lr.Dir, img
	return b, nil
}

// FindSidecar locates the linux hfpack-sidecar binary: $HFPACK_SIDECAR,
// else beside the running hfpack (as releases and make build place it).
func FindSidecar() (string, error) {
	if p := os.Getenv("HFPACK_SIDECAR"); p != "" {
		return p, nil
	}
	exe, err := os.Executable()
	if err == nil {
		for _, name := range []string{"hfpack-sidecar", "hfpack-sidecar_linux_amd64"} {
			p := filepath.Join(filepath.Dir(exe), name)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, nil
			}
		}
	}
	return "", errors.New("hfpack-sidecar not found beside hfpack: build both with make build, or pass --sidecar PATH (a static linux/amd64 binary)")
}

// ErrModelChanged reports model files that differ from the ones the lock
// pinned.
var ErrModelChanged = lockfile.ErrModelChanged

// CheckModelPinned verifies the lock (see CheckLock) with the model files
// hashed under root: model.path, or a Hub model's snapshot once FetchModel
// made it. The image holds exactly the model that was locked. Hashes are
// remembered by size and mtime under root: a rebuild rehashes nothing that
// did not change.
func (p *Project) CheckModelPinned(root string) error {
	if p.Lock == nil {
		return p.CheckLock()
	}
	return p.verifyLock(root)
}

// verifyLock runs lockfile.Verify, with the model files hashed under root
// when they are on disk (a Hub model only after FetchModel).
func (p *Project) verifyLock(root string) error {
	opts := []lockfile.VerifyOption{lockfile.WithLockName(p.RelLock())}
	if dir := p.ModelDir(); dir != "" {
		hasher, c, err := p.modelHasher(root, dir)
		if err != nil {
			return err
		}
		defer c.Close()
		opts = append(opts, lockfile.WithModelCheck(dir, hasher))
	}
	return lockfile.Verify(p.Manifest, p.Lock, opts...)
}

// buildCacheDir is where the layer cache and the file-hash records live.
func buildCacheDir(root string) string { return filepath.Join(root, "build") }

// FileHasher returns the build cache's file-hash records under the cache
// root (dir, or the default): lock, check and build share them, so a model
// is hashed once between the three, not once each. It waits while a prune
// holds the cache, without a word and whatever the context: open it within
// an OpenBuildCache hold, which does not wait then. Close it when done:
// until then a prune (PruneCache) waits.
func FileHasher(dir string) (*buildcache.Cache, error) {
	root, err := CacheRoot(dir)
	if err != nil {
		return nil, err
	}
	return buildcache.Open(buildCacheDir(root))
}

// OpenBuildCache opens the build cache under the cache root (dir, or the
// default), calling wait once if a prune holds it, until ctx is done.
// Until it is closed, PruneCache waits: a build opens it before it reads
// any cached file.
func OpenBuildCache(ctx context.Context, dir string, wait func()) (*buildcache.Cache, error) {
	root, err := CacheRoot(dir)
	if err != nil {
		return nil, err
	}
	return buildcache.OpenContext(ctx, buildCacheDir(root), wait)
}
