package resolve

import (
	"errors"
	"fmt"

	"github.com/hfpack/hfpack/python/pep440"
	"github.com/hfpack/hfpack/python/pep508"
)

// PrereleasePolicy says when pre-release and development versions may be
// chosen.
type PrereleasePolicy int

const (
	// PrereleasesIfNecessaryOrExplicit is the default: uv's
	// if-necessary-or-explicit ("Allow pre-release versions if all versions
	// of a package are pre-release, or if the package has an explicit
	// pre-release marker in its version requirements"). A project's
	// pre-releases are admitted when it has no usable final release, or
	// when a top-level requirement on it names a pre-release in any clause
	// but "!=" (">=2.0b1", "<0.2.0a2", ">0.0.0a1"), which opts the project
	// in for every requirement on it. Otherwise a pre-release is admitted
	// only when every requirement on the project names one.
	PrereleasesIfNecessaryOrExplicit PrereleasePolicy = iota
	// PrereleasesAllow admits pre-releases of every project.
	PrereleasesAllow
	// PrereleasesExplicit is PrereleasesIfNecessaryOrExplicit without the
	// if-necessary rule: a project with only pre-releases gets none unless
	// a requirement names one.
	PrereleasesExplicit
)

// Option configures Resolve.
type Option func(*options) error

type options struct {
	prereleases PrereleasePolicy
	preferences map[string]pep440.Version
	upgradeAll  bool
	upgrade     map[string]bool
	concurrency int
	steps       *int // counts decisions tried, for tests
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{
		prereleases: PrereleasesIfNecessaryOrExplicit,
		preferences: map[string]pep440.Version{},
		upgrade:     map[string]bool{},
		concurrency: 16,
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithPrereleases sets the pre-release policy (default
// PrereleasesIfNecessaryOrExplicit).
func WithPrereleases(p PrereleasePolicy) Option {
	return func(o *options) error {
		if p < PrereleasesIfNecessaryOrExplicit || p > PrereleasesExplicit {
			return fmt.Errorf("unknown pre-release policy %d", p)
		}
		o.prereleases = p
		return nil
	}
}

// WithPreferences makes the resolver try the given versions first (keyed
// by project name), typically those of an existing lock, so that
// re-locking moves only what must move. A preferred version that no longer
// satisfies the requirements is ignored. Default: none.
func WithPreferences(versions map[string]pep440.Version) Option {
	return func(o *options) error {
		for name, v := range versions {
			if v.IsZero() {
				return fmt.Errorf("preference for %q: zero version", name)
			}
			o.preferences[pep508.NormalizeName(name)] = v
		}
		return nil
	}
}

// WithUpgrade ignores every preference: the newest allowed versions are
// chosen ("hfpack lock --upgrade"). Default false.
func WithUpgrade(all bool) Option {
	return func(o *options) error {
		o.upgradeAll = all
		return nil
	}
}

// WithUpgradePackages ignores the preferences of the named projects only
// ("--upgrade-package NAME").
func WithUpgradePackages(names ...string) Option {
	return func(o *options) error {
		for _, n := range names {
			if !pep508.ValidName(n) {
				return fmt.Errorf("upgrade package %q: invalid project name", n)
			}
			o.upgrade[pep508.NormalizeName(n)] = true
		}
		return nil
	}
}

// WithConcurrency bounds concurrent Provider calls (default 16, minimum 1).
func WithConcurrency(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return errors.New("concurrency must be at least 1")
		}
		o.concurrency = n
		return nil
	}
}

// preferred returns the version to try first for a project, if any.
func (o *options) preferred(name string) (pep440.Version, bool) {
	if o.upgradeAll || o.upgrade[name] {
		return pep440.Version{}, false
	}
	v, ok := o.preferences[name]
	return v, ok
}

// withSteps makes Resolve count the decisions it tries into *n (tests).
func withSteps(n *int) Option {
	return func(o *options) error {
		o.steps = n
		return nil
	}
}
