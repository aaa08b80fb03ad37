package resolve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hfpack/hfpack/python/pep440"
	"github.com/hfpack/hfpack/python/pep508"
)

// ErrURLRequirement is wrapped by the error for a direct URL requirement
// (`name @ https://…`), which a resolver over indexes cannot satisfy.
var ErrURLRequirement = errors.New("direct URL requirements are not supported")

// Resolve chooses a version of every project reqs need in env, the target
// image's environment (env.PythonFullVersion must be set). It returns a
// *NoSolutionError when the requirements cannot be met, and wraps Provider
// errors otherwise.
func Resolve(ctx context.Context, p Provider, reqs []pep508.Requirement, env pep508.Environment, opts ...Option) (*Result, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("resolve: %w", err)
	}
	python, err := pep440.ParseVersion(env.PythonFullVersion)
	if err != nil {
		return nil, fmt.Errorf("resolve: target python_full_version: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	fetch := newFetcher(ctx, p, o)
	defer fetch.wait() // and returns only once they have stopped
	defer cancel()     // stops prefetches still running
	s := &solver{
		ctx: ctx, env: env, python: python, o: o,
		fetch:   fetch,
		cons:    map[string][]constraint{},
		decided: map[string]*decision{},
		direct:  map[string]bool{},
		optIn:   map[string]bool{},
		pins:    map[string][]pep440.Specifier{},
		learned: map[string][]learned{},
		cands:   map[uint64][]Candidate{},
	}
	fetch.next = s.likelyNeeds
	root, err := s.rootConstraints(reqs)
	if err != nil {
		return nil, err
	}
	f, err := s.start(root)
	if err != nil {
		return nil, fmt.Errorf("resolve: %w", err)
	}
	if f != nil {
		return nil, &NoSolutionError{Explanation: explain(f.why)}
	}
	return s.result(), nil
}

type solver struct {
	ctx     context.Context
	env     pep508.Environment
	python  pep440.Version
	o       *options
	fetch   *fetcher
	cons    map[string][]constraint
	trail   []string // keys in the order constraints were added, for undo
	decided map[string]*decision
	order   []string // decided keys in order
	direct  map[string]bool
	optIn   map[string]bool               // projects a top-level requirement opts into pre-releases
	pins    map[string][]pep440.Specifier // exact top-level pins (== or ===), which may select yanked releases
	learned map[string][]learned
	lastID  uint64
	cands   map[uint64][]Candidate // candidates by id of the key's last constraint
}

// splitKey splits "name[extra]" into name and extra.
func splitKey(key string) (name, extra string) {
	if i := strings.IndexByte(key, '['); i >= 0 {
		return key[:i], key[i+1 : len(key)-1]
	}
	return key, ""
}

// depsOf turns a requirement into constraints on the package keys it names.
func depsOf(r pep508.Requirement, from string, fromV pep440.Version) []dep {
	name := r.NormalizedName()
	out := []dep{{key: name, c: constraint{spec: r.Specifier, req: name + r.Specifier.String(), from: from, fromV: fromV}}}
	for _, e := range r.Extras {
		key := name + "[" + e + "]"
		out = append(out, dep{key: key, c: constraint{spec: r.Specifier, req: key + r.Specifier.String(), from: from, fromV: fromV}})
	}
	return out
}

func (s *solver) rootConstraints(reqs []pep508.Requirement) ([]dep, error) {
	var root []dep
	for _, r := range reqs {
		if r.URL != "" {
			return nil, fmt.Errorf("resolve: requirement %q: %w: name a version available from an index", r.String(), ErrURLRequirement)
		}
		if r.Marker != nil && !r.Marker.Evaluate(s.env) {
			continue
		}
		name := r.NormalizedName()
		s.direct[name] = true
		if specNamesPrerelease(r.Specifier) {
			s.optIn[name] = true
		}
		for _, sp := range r.Specifier {
			if exactPin(sp) {
				s.pins[name] = append(s.pins[name], sp)
			}
		}
		root = append(root, depsOf(r, "", pep440.Version{})...)
	}
	return root, nil
}

func (s *solver) start(root []dep) (*failure, error) {
	for _, d := range root {
		name, extra := splitKey(d.key)
		var extras []string
		if extra != "" {
			extras = []string{extra}
		}
		s.fetch.prefetchProject(name, extras)
	}
	for _, d := range root {
		s.addConstraint(d.key, d.c)
	}
	for _, key := range uniqueKeys(root) {
		cands, err := s.candidates(key)
		if err != nil {
			return nil, err
		}
		if len(cands) == 0 {
			return s.exhausted(key, nil)
		}
	}
	return s.solve()
}

func baseName(key string) string { n, _ := splitKey(key); return n }

func uniqueKeys(ds []dep) []string {
	var keys []string
	for _, d := range ds {
		if !slices.Contains(keys, d.key) {
			keys = append(keys, d.key)
		}
	}
	return keys
}

func (s *solver) addConstraint(key string, c constraint) {
	s.lastID++
	c.id = s.lastID
	s.cons[key] = append(s.cons[key], c)
	s.trail = append(s.trail, key)
}

// undo removes constraints added after mark and decisions after level.
func (s *solver) undo(mark, level int) {
	for len(s.trail) > mark {
		key := s.trail[len(s.trail)-1]
		s.trail = s.trail[:len(s.trail)-1]
		s.cons[key] = s.cons[key][:len(s.cons[key])-1]
		if len(s.cons[key]) == 0 {
			delete(s.cons, key)
		}
	}
	for len(s.order) > level {
		delete(s.decided, s.order[len(s.order)-1])
		s.order = s.order[:len(s.order)-1]
	}
}

// solve decides the remaining packages, returning nil when all are decided.
func (s *solver) solve() (*failure, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, err
	}
	key, cands, err := s.pick()
	if err != nil || key == "" {
		return nil, err
	}
	if len(cands) == 0 {
		return s.exhausted(key, nil)
	}
	if f := s.recall(key, cands); f != nil {
		return f, nil
	}
	var tried []attempt
	for _, c := range cands {
		f, err := s.try(key, c)
		if err != nil {
			return nil, err
		}
		if f == nil {
			return nil, nil
		}
		if !f.culprits[key] {
			return f, nil // the conflict does not involve this choice: backjump
		}
		tried = append(tried, attempt{version: c.Version, why: f.why, culprits: f.culprits})
	}
	return s.exhausted(key, tried)
}

// pick returns the undecided package with the fewest candidates left (ties
// by name), and those candidates in the order to try them.
func (s *solver) pick() (string, []Candidate, error) {
	var best string
	var bestCands []Candidate
	for key := range s.cons { // order-independent: ties broken by name
		if s.decided[key] != nil {
			continue
		}
		cands, err := s.candidates(key)
		if err != nil {
			return "", nil, err
		}
		if best == "" || len(cands) < len(bestCands) || len(cands) == len(bestCands) && key < best {
			best, bestCands = key, cands
		}
	}
	return best, bestCands, nil
}

// try decides key=c and continues; on failure it undoes the decision.
func (s *solver) try(key string, c Candidate) (*failure, error) {
	mark, level := len(s.trail), len(s.order)
	if s.o.steps != nil {
		*s.o.steps++
	}
	d := &decision{cand: c}
	s.decided[key] = d
	s.order = append(s.order, key)
	f, err := s.expand(key, d)
	if err == nil && f == nil {
		f, err = s.solve()
	}
	if err != nil || f != nil {
		s.undo(mark, level)
	}
	return f, err
}

// expand adds the constraints of decision d and checks them against what
// is decided and what is available.
func (s *solver) expand(key string, d *decision) (*failure, error) {
	name, extra := splitKey(key)
	v := d.cand.Version
	deps, err := s.fetch.getDeps(s.ctx, name, d.cand)
	if err != nil {
		return nil, err
	}
	d.deps = deps
	if len(deps.RequiresPython) > 0 && !deps.RequiresPython.Match(s.python) {
		return &failure{culprits: map[string]bool{key: true}, why: &leaf{msg: fmt.Sprintf(
			"%s %s requires Python %s (its Requires-Python metadata); the image has %s", name, v, deps.RequiresPython, s.python)}}, nil
	}
	if extra != "" {
		exact := v
		d.reqs = append(d.reqs, dep{key: name, c: constraint{exact: &exact, req: name + "==" + v.String(), from: key, fromV: v}})
	}
	for _, r := range deps.Requires {
		if !s.applies(r, extra) {
			continue
		}
		if r.URL != "" {
			return &failure{culprits: map[string]bool{key: true}, why: &leaf{msg: fmt.Sprintf(
				"%s %s requires %s, a direct URL reference; hfpack resolves from package indexes only", key, v, r)}}, nil
		}
		d.reqs = append(d.reqs, depsOf(r, key, v)...)
	}
	for _, dd := range d.reqs {
		s.fetch.prefetchVersions(baseName(dd.key))
	}
	for _, dd := range d.reqs {
		s.addConstraint(dd.key, dd.c)
	}
	for _, dd := range d.reqs {
		if other := s.decided[dd.key]; other != nil && !dd.c.admits(other.cand.Version) {
			return s.clash(dd, other), nil
		}
	}
	for _, k := range uniqueKeys(d.reqs) {
		if s.decided[k] != nil {
			continue
		}
		cands, err := s.candidates(k)
		if err != nil {
			return nil, err
		}
		if len(cands) == 0 {
			return s.exhausted(k, nil)
		}
		s.fetch.prefetchDeps(baseName(k), cands[0]) // the likely next decision
	}
	return nil, nil
}

// likelyNeeds returns the requirements in deps that the target needs, for
// the project itself and for each of extras: what the resolver will most
// likely ask for next if it picks the candidate.
func (s *solver) likelyNeeds(deps Dependencies, extras []string) []pep508.Requirement {
	var out []pep508.Requirement
	for _, r := range deps.Requires {
		if r.URL != "" {
			continue
		}
		if s.applies(r, "") || slices.ContainsFunc(extras, func(e string) bool { return s.applies(r, e) }) {
			out = append(out, r)
		}
	}
	return out
}

// applies reports whether requirement r of a project is needed by the
// package key with the given extra ("" for the project itself): its
// marker holds for the target, and for an extra it is not already a
// dependency of the project itself.
func (s *solver) applies(r pep508.Requirement, extra string) bool {
	if r.Marker == nil {
		return extra == ""
	}
	env := s.env
	env.Extra = extra
	if !r.Marker.Evaluate(env) {
		return false
	}
	if extra == "" {
		return true
	}
	env.Extra = ""
	return !r.Marker.Evaluate(env)
}
