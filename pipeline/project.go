package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/google"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hfpack/hfpack/baseimages"
	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/hub"
	"github.com/hfpack/hfpack/imagespec"
	"github.com/hfpack/hfpack/lockfile"
	"github.com/hfpack/hfpack/lockfile/pylock"
	"github.com/hfpack/hfpack/manifest"
	"github.com/hfpack/hfpack/python/tags"
)

// ErrNoLock reports a project that has never been locked.
var ErrNoLock = errors.New("no lock")

// ErrStaleLock reports a lock that no longer matches the manifest. Its
// message is documented in the README: pipelines match on it.
var ErrStaleLock = lockfile.ErrStale

// ErrLockMismatch reports a lock that does not verify: edited, or not a
// solution of the requirements (lockfile.Verify).
var ErrLockMismatch = lockfile.ErrMismatch

// DefaultGlibc is the glibc a lock targets when the base is not known yet:
// Ubuntu 22.04's, which every catalog CUDA base has or exceeds.
const DefaultGlibc = "2.35"

// Project is a loaded manifest and its lock.
type Project struct {
	Manifest *manifest.Manifest
	// LockPath is pylock.toml beside the manifest.
	LockPath string
	// Lock is nil when LockPath does not exist.
	Lock *pylock.Lock
	// ModelProgress, when set, reports the download of a Hub model's files.
	ModelProgress func(total int64) hub.Progress
	// BaseProgress, when set, reports the one read of the layers of an
	// [image] base without hfpack's labels (its Python and glibc are then
	// detected from its files); total is their compressed size in bytes.
	BaseProgress func(total int64) Progress

	// modelDir is the directory of the model's files once known: the
	// manifest's model.path, or the snapshot FetchModel made of a Hub model.
	modelDir string

	// CacheDir is the root of hfpack's caches ("" for the default), where
	// CheckLock remembers model file hashes.
	CacheDir string

	verified *pylock.Lock // the lock CheckLock last verified
	// deferModel is set while Prepare runs: model hashes the cache lacks
	// are checked by NewPlan (see modelpin.go).
	deferModel *deferredModel
}

// Open loads and validates the manifest at path and reads its lock if present.
func Open(path string) (*Project, error) {
	m, err := LoadManifest(path)
	if err != nil {
		return nil, err
	}
	p := &Project{Manifest: m, LockPath: filepath.Join(m.Dir, pylock.FileName)}
	l, err := pylock.ReadFile(p.LockPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		p.Lock = l
	}
	return p, nil
}

// RelLock is the lock's path as people should read it: relative to the
// working directory when possible.
func (p *Project) RelLock() string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, p.LockPath); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return p.LockPath
}

// CheckLock verifies the lock before anything uses it (lockfile.Verify):
// it exists, was resolved from the manifest's current requirements and
// pins its model, every entry is named and versioned as its wheel, the
// entries are a solution of the requirements through the lock's
// dependency graph (nothing missing, nothing extra), and the model files
// on disk are the pinned ones (hashed under CacheDir; a Hub model's files
// are checked by CheckModelPinned once FetchModel fetched them).
// lock --check, check and build all call it.
func (p *Project) CheckLock() error {
	if p.Lock == nil {
		return fmt.Errorf("%w: %s does not exist: run hfpack lock %s", ErrNoLock, p.RelLock(), p.Manifest.File)
	}
	if p.verified == p.Lock {
		return nil
	}
	if err := p.verifyLock(p.CacheDir); err != nil {
		return err
	}
	if p.deferModel == nil { // else the build's ModelCheck finishes it
		p.verified = p.Lock
	}
	return nil
}

// Target is the environment the lock resolves for: the image's Python and
// glibc on linux/amd64.
func (p *Project) Target() tags.Target {
	glibc := DefaultGlibc
	if cfg, err := p.OverrideConfig(); err == nil && cfg != nil {
		switch {
		case cfg.Labels[baseimages.LabelGlibc] != "":
			glibc = cfg.Labels[baseimages.LabelGlibc]
		case cfg.Detected != nil && cfg.Detected.Glibc != "":
			glibc = cfg.Detected.Glibc
		}
	}
	return tags.Target{Python: p.Manifest.Python.Version, Glibc: glibc, Arch: "x86_64"}
}

// OverrideConfig reads the image config of an [image] base given as an OCI
// layout, so its labels (glibc, Python) can be checked; nil when the base is
// not a local layout, or the layout does not exist yet (the build reports
// that; check and lock can go on without it).
func (p *Project) OverrideConfig() (*baseimages.ImageConfig, error) {
	ref := p.Manifest.Image.Base
	lr, ok := imagespec.ParseLayoutRef(ref)
	if !ok {
		if ref == "" {
			return nil, nil
		}
		return p.registryConfig(ref)
	}
	lr = lr.In(p.Manifest.Dir)
	if _, err := os.Stat(filepath.Join(lr.Dir, "index.json")); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	img, err := LayoutImage(lr.Dir, lr.Digest)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading base image config: %w", err)
	}
	return p.imageConfig(img, cf)
}

// imageConfig is what selection needs of a base: its env and labels, and,
// unless the labels name both its Python and glibc, what its own files say.
func (p *Project) imageConfig(img v1.Image, cf *v1.ConfigFile) (*baseimages.ImageConfig, error) {
	cfg := &baseimages.ImageConfig{Env: cf.Config.Env, Labels: cf.Config.Labels}
	if cfg.Labels[baseimages.LabelPython] != "" && cfg.Labels[baseimages.LabelGlibc] != "" {
		return cfg, nil
	}
	d, err := p.detectBase(img)
	if err != nil {
		return nil, err
	}
	cfg.Detected = d
	return cfg, nil
}

// registryConfig reads the config of a registry base (REF@sha256:...), so its
// labels (Python, glibc) count as an OCI layout's do.
func (p *Project) registryConfig(ref string) (*baseimages.ImageConfig, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("[image] base %q: %w", ref, err)
	}
	kc := authn.NewMultiKeychain(authn.DefaultKeychain, google.Keychain)
	img, err := remote.Image(r, remote.WithAuthFromKeychain(kc))
	if err != nil {
		return nil, fmt.Errorf("reading base image %s: %w", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading base image config of %s: %w", ref, err)
	}
	return p.imageConfig(img, cf)
}

// SelectBase chooses the base for the locked packages and the accelerator.
func (p *Project) SelectBase() (baseimages.Selection, error) {
	if err := p.CheckLock(); err != nil {
		return baseimages.Selection{}, err
	}
	m := p.Manifest
	cat, err := p.Catalog()
	if err != nil {
		return baseimages.Selection{}, err
	}
	req := baseimages.Request{
		Python:           m.Python.Version,
		Accelerator:      m.Accelerator.Type,
		AcceleratorCount: m.Accelerator.Count,
		Override:         m.Image.Base,
		DriverFloor:      m.Accelerator.MinDriver,
		PythonMirror:     os.Getenv(EnvPythonMirror),
		BaseMirror:       os.Getenv(EnvBaseMirror),
	}
	if req.PythonMirror != "" {
		if err := baseimages.CheckPythonMirror(req.PythonMirror); err != nil {
			return baseimages.Selection{}, err
		}
	}
	if req.BaseMirror != "" {
		if err := baseimages.CheckBaseMirror(req.BaseMirror); err != nil {
			return baseimages.Selection{}, err
		}
	}
	for _, pkg := range p.Lock.Packages {
		bp := baseimages.Package{Name: pkg.Name, Version: pkg.Version}
		if len(pkg.Wheels) > 0 {
			bp.Wheel = pkg.Wheels[0].Name
		}
		req.Packages = append(req.Packages, bp)
	}
	if m.Image.Base != "" {
		cfg, err := p.OverrideConfig()
		if err != nil {
			return baseimages.Selection{}, err
		}
		req.OverrideConfig = cfg
	}
	return baseimages.Select(cat, req)
}

// Environment variables for closed networks.
const (
	// EnvPythonMirror replaces the python-build-standalone download prefix.
	EnvPythonMirror = "HFPACK_PYTHON_MIRROR"
	// EnvBaseMirror replaces docker.io when pulling bases.
	EnvBaseMirror = "HFPACK_BASE_MIRROR"
	// EnvCatalog names catalog files of extra bases and runtimes,
	// separated like PATH.
	EnvCatalog = "HFPACK_CATALOG"
)

// Catalog is hfpack's catalog plus the rows of the catalog files named by
// HFPACK_CATALOG and [image] catalog.
func (p *Project) Catalog() (*baseimages.Catalog, error) {
	return LoadCatalog(p.Manifest.CatalogPath())
}

// LoadManifest loads and validates the manifest at path, its [image]
// catalog file included.
func LoadManifest(path string) (*manifest.Manifest, error) {
	return manifest.Load(path, manifest.WithCatalogCheck(func(p string) error {
		_, err := baseimages.ReadCatalogFile(p)
		return err
	}))
}

// LoadCatalog is hfpack's catalog plus the rows of the catalog files named
// by HFPACK_CATALOG and manifestCatalog ("" for none).
func LoadCatalog(manifestCatalog string) (*baseimages.Catalog, error) {
	var files []string
	for _, f := range filepath.SplitList(os.Getenv(EnvCatalog)) {
		if f != "" {
			files = append(files, f)
		}
	}
	if manifestCatalog != "" {
		files = append(files, manifestCatalog)
	}
	var extra []*baseimages.Catalog
	for _, f := range files {
		c, err := baseimages.ReadCatalogFile(f)
		if err != nil {
			if manifestCatalog != f {
				err = fmt.Errorf("%s: %w", EnvCatalog, err)
			}
			return nil, err
		}
		extra = append(extra, c)
	}
	return baseimages.Default().With(extra...)
}

// LayoutImage opens the image in an OCI layout: the one with digest, or the
// only image when digest is empty.
func LayoutImage(dir, digest string) (v1.Image, error) { return builder.LayoutImage(dir, digest) }
