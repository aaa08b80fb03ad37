package builder

import (
	"fmt"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/tree"
)

// WheelInstaller adds the installed files of wheel w to t, following the
// wheel spec, for the interpreter and site-packages of base. It must check
// w.SHA256 against the file at w.Source. hfpack's build command passes an
// adapter around wheelinstall.Install.
type WheelInstaller func(t *tree.Tree, w WheelRef, base Base) error

type options struct {
	cache     *cache.Cache
	jobs      int
	installer WheelInstaller
	// installerSet is true once WithWheelInstaller chose the installer.
	installerSet bool
	base         v1.Image
	remote       []remote.Option
	report       *Report
	storeAll     bool
	layerReady   func(v1.Layer)
}

// Option configures NewPlan and Build.
type Option func(*options) error

func makeOptions(opts []Option) (*options, error) {
	o := &options{jobs: runtime.GOMAXPROCS(0)}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithCache sets the build cache. NewPlan uses it to remember file hashes;
// Build requires it and keeps every layer it writes there.
func WithCache(c *cache.Cache) Option {
	return func(o *options) error {
		if c == nil {
			return fmt.Errorf("nil cache")
		}
		o.cache = c
		return nil
	}
}

// WithJobs sets how many layers are written at once; default GOMAXPROCS.
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("jobs must be at least 1, got %d", n)
		}
		o.jobs = n
		return nil
	}
}

// WithWheelInstaller replaces the installer used for the site-packages
// layer. The default installs each wheel as InstallWheel does, reading a
// layer's wheels on all cores at once and, with WithCache, hashing a wheel
// only when the cache's file-hash records do not know it as it is.
func WithWheelInstaller(f WheelInstaller) Option {
	return func(o *options) error {
		o.installer, o.installerSet = f, true
		return nil
	}
}

// WithBaseImage uses img as the base instead of fetching Plan.Base; img's
// digest must still equal Plan.Base.Digest (or be a child of that index).
func WithBaseImage(img v1.Image) Option {
	return func(o *options) error {
		o.base = img
		return nil
	}
}

// WithRemoteOptions passes options (auth, transport) to the base image fetch.
func WithRemoteOptions(ro ...remote.Option) Option {
	return func(o *options) error {
		o.remote = append(o.remote, ro...)
		return nil
	}
}

// WithStoredBlobs stores every layer blob in the cache. By default an
// uncompressed layer of local files (model weights) is not copied into the
// cache: the cache records its digest with the files' sizes and
// modification times, and the blob is regenerated from the files whenever it
// is read (and checked against the digest). Use this when the model
// directory will not outlive the build.
func WithStoredBlobs() Option {
	return func(o *options) error {
		o.storeAll = true
		return nil
	}
}

// WithReport fills r with what Build did for each layer.
func WithReport(r *Report) Option {
	return func(o *options) error {
		o.report = r
		return nil
	}
}

// Report says, layer by layer, what Build did.
type Report struct {
	Layers []LayerReport
}

// LayerReport is what Build did for one layer.
type LayerReport struct {
	Name   string
	Digest v1.Hash
	Size   int64
	// Cached is true when the layer came from the cache without any work.
	Cached bool
}

// WithLayerReady calls f with each layer Build adds to the base, as soon
// as it is written or found in the cache, from the goroutine that built
// it, while other layers may still be building: a caller can start pushing
// it (publish.Prepush). f must return quickly.
func WithLayerReady(f func(v1.Layer)) Option {
	return func(o *options) error {
		o.layerReady = f
		return nil
	}
}
