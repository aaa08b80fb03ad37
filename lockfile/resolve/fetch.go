package resolve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/hfpack/hfpack/python/pep508"
)

// future is a value computed once in the background.
type future[T any] struct {
	done chan struct{}
	val  T
	err  error
}

func (f *future[T]) wait(ctx context.Context) (T, error) {
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// fetcher memoises Provider calls and runs them in the background, at most
// `limit` at a time, so that metadata is fetched while the search goes on.
type fetcher struct {
	ctx      context.Context
	p        Provider
	o        *options
	sem      chan struct{}
	wg       sync.WaitGroup // background fetches, so Resolve returns only once they are done
	mu       sync.Mutex
	versions map[string]*future[[]Candidate]
	deps     map[string]*future[Dependencies]
	// extras are the extras asked of each project so far.
	extras map[string][]string
	// next, when set, returns the requirements of a candidate's
	// dependencies that hold for the target, for the project itself and
	// for the given extras: their pages are fetched as soon as the
	// metadata arrives, before the resolver gets to the candidate, so the
	// likely graph is fetched at the network's pace rather than the
	// search's. Set before any fetch.
	next func(d Dependencies, extras []string) []pep508.Requirement
}

func newFetcher(ctx context.Context, p Provider, o *options) *fetcher {
	return &fetcher{
		ctx: ctx, p: p, o: o,
		sem:      make(chan struct{}, o.concurrency),
		versions: map[string]*future[[]Candidate]{},
		deps:     map[string]*future[Dependencies]{},
		extras:   map[string][]string{},
	}
}

// prefetchVersions starts fetching name's versions unless already started.
func (f *fetcher) prefetchVersions(name string) *future[[]Candidate] {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fu, ok := f.versions[name]; ok {
		return fu
	}
	fu := &future[[]Candidate]{done: make(chan struct{})}
	f.versions[name] = fu
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer close(fu.done)
		if !f.acquire() {
			fu.err = f.ctx.Err()
			return
		}
		cs, err := f.p.Versions(f.ctx, name)
		f.release()
		switch {
		case errors.Is(err, ErrNotFound):
			cs, err = nil, nil
		case err != nil:
			fu.err = fmt.Errorf("listing versions of %s: %w", name, err)
			return
		}
		cs = slices.Clone(cs)
		// Newest first; equal versions keep the provider's order.
		slices.SortStableFunc(cs, func(a, b Candidate) int { return b.Version.Compare(a.Version) })
		fu.val = cs
		// Speculate: the version most likely chosen is the preferred one,
		// else the newest installable final release.
		if c, ok := f.likely(name, cs); ok {
			f.prefetchDeps(name, c)
		}
	}()
	return fu
}

func (f *fetcher) likely(name string, cs []Candidate) (Candidate, bool) {
	if v, ok := f.o.preferred(name); ok {
		for _, c := range cs {
			if c.Exclusion == Installable && c.Version.Equal(v) {
				return c, true
			}
		}
	}
	for _, c := range cs {
		if c.Exclusion == Installable && !c.Version.IsPrerelease() {
			return c, true
		}
	}
	return Candidate{}, false
}

func (f *fetcher) getVersions(ctx context.Context, name string) ([]Candidate, error) {
	return f.prefetchVersions(name).wait(ctx)
}

func depsKey(name string, c Candidate) string { return name + " " + c.Version.String() }

// prefetchDeps starts fetching a candidate's metadata unless already started.
func (f *fetcher) prefetchDeps(name string, c Candidate) *future[Dependencies] {
	key := depsKey(name, c)
	f.mu.Lock()
	defer f.mu.Unlock()
	if fu, ok := f.deps[key]; ok {
		return fu
	}
	fu := &future[Dependencies]{done: make(chan struct{})}
	f.deps[key] = fu
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer close(fu.done)
		if !f.acquire() {
			fu.err = f.ctx.Err()
			return
		}
		d, err := f.p.Dependencies(f.ctx, name, c)
		f.release()
		if err != nil {
			fu.err = fmt.Errorf("reading metadata of %s %s: %w", name, c.Version, err)
			return
		}
		fu.val = d
		if f.next != nil {
			f.mu.Lock()
			extras := slices.Clone(f.extras[name])
			f.mu.Unlock()
			for _, r := range f.next(d, extras) {
				f.prefetchProject(r.NormalizedName(), r.Extras)
			}
		}
	}()
	return fu
}

// prefetchProject records that extras of name are wanted (so that the
// dependencies they add are prefetched too) and starts fetching its versions.
func (f *fetcher) prefetchProject(name string, extras []string) {
	if len(extras) > 0 {
		f.mu.Lock()
		for _, e := range extras {
			if !slices.Contains(f.extras[name], e) {
				f.extras[name] = append(f.extras[name], e)
			}
		}
		f.mu.Unlock()
	}
	f.prefetchVersions(name)
}

func (f *fetcher) getDeps(ctx context.Context, name string, c Candidate) (Dependencies, error) {
	return f.prefetchDeps(name, c).wait(ctx)
}

// wait blocks until every background fetch has returned (cancel the
// context first to make that quick): nothing writes to the provider's
// caches after Resolve returns.
func (f *fetcher) wait() { f.wg.Wait() }

func (f *fetcher) acquire() bool {
	select {
	case f.sem <- struct{}{}:
		return true
	case <-f.ctx.Done():
		return false
	}
}

func (f *fetcher) release() { <-f.sem }
