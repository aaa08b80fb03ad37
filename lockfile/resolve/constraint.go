package resolve

import (
	"slices"

	"github.com/hfpack/hfpack/python/pep440"
)

// constraint is one requirement on a package key, and who imposed it.
type constraint struct {
	spec  pep440.SpecifierSet
	exact *pep440.Version // for name[extra] -> name, the very same version
	req   string          // the requirement as shown in messages
	from  string          // key of the decision that imposed it; "" for the request
	fromV pep440.Version
	id    uint64 // unique; the id of a key's last constraint identifies its whole list
}

func (c constraint) admits(v pep440.Version) bool {
	if c.exact != nil {
		return v.Compare(*c.exact) == 0
	}
	return c.spec.Match(v)
}

// namesPrerelease reports whether the constraint itself admits
// pre-releases: it names one in a clause other than "!=" (as uv reads a
// specifier: ">=2.0b1", "<0.2.0a2", ">0.0.0a1", "==2.0rc1" all do), or it
// is the exact pin of a pre-release (name[extra] -> name).
func (c constraint) namesPrerelease() bool {
	if c.exact != nil {
		return c.exact.IsPrerelease()
	}
	return specNamesPrerelease(c.spec)
}

func specNamesPrerelease(set pep440.SpecifierSet) bool {
	return slices.ContainsFunc(set, func(sp pep440.Specifier) bool {
		return sp.Op != pep440.NotEqual && !sp.Version.IsZero() && sp.Version.IsPrerelease()
	})
}

// exactPin reports whether sp pins one version: "==V" without a wildcard,
// or "===V". PEP 592 lets such a pin select a yanked release.
func exactPin(sp pep440.Specifier) bool {
	return sp.Op == pep440.Equal && !sp.Wildcard || sp.Op == pep440.ArbitraryEqual
}

// decision is a chosen candidate for a package key.
type decision struct {
	cand Candidate
	deps Dependencies
	reqs []dep // the dependencies it imposed
}

// dep is one constraint a decision imposes on a key.
type dep struct {
	key string
	c   constraint
}

// failure is a nogood: the decisions (package keys) that together cannot
// be extended to a solution, and why.
type failure struct {
	culprits map[string]bool
	why      node
}

// candidates returns the versions of key that every constraint admits and
// that can be installed, in the order to try them.
func (s *solver) candidates(key string) ([]Candidate, error) {
	cons := s.cons[key]
	if len(cons) == 0 {
		return s.filter(key, nil)
	}
	id := cons[len(cons)-1].id
	if cands, ok := s.cands[id]; ok {
		return cands, nil
	}
	cands, err := s.filter(key, cons)
	if err == nil {
		s.cands[id] = cands
	}
	return cands, err
}

// filter computes candidates for key under cons.
func (s *solver) filter(key string, cons []constraint) ([]Candidate, error) {
	name, _ := splitKey(key)
	all, err := s.fetch.getVersions(s.ctx, name)
	if err != nil {
		return nil, err
	}
	allowPre := s.allowPrereleases(name, cons, all)
	var out []Candidate
	for _, c := range all {
		if !s.usable(name, c) || c.Version.IsPrerelease() && !allowPre {
			continue
		}
		if admitsAll(cons, c.Version) {
			out = append(out, c)
		}
	}
	if v, ok := s.o.preferred(name); ok {
		if i := slices.IndexFunc(out, func(c Candidate) bool { return c.Version.Compare(v) == 0 }); i > 0 {
			out = slices.Concat(out[i:i+1], out[:i], out[i+1:])
		}
	}
	return out, nil
}

func admitsAll(cons []constraint, v pep440.Version) bool {
	for _, c := range cons {
		if !c.admits(v) {
			return false
		}
	}
	return true
}

// usable reports whether candidate c of project name can be chosen at
// all: it is installable, or it is yanked and a top-level requirement pins
// exactly that version (PEP 592; as uv, a dependency's pin is not enough),
// and the index's requires-python admits the target.
func (s *solver) usable(name string, c Candidate) bool {
	switch c.Exclusion {
	case Installable:
	case Yanked:
		if !s.pinnedYanked(name, c.Version) {
			return false
		}
	default:
		return false
	}
	return len(c.RequiresPython) == 0 || c.RequiresPython.Match(s.python)
}

// pinnedYanked reports whether a top-level requirement pins v of name
// exactly (== or ===), which PEP 592 requires to select a yanked release.
func (s *solver) pinnedYanked(name string, v pep440.Version) bool {
	return slices.ContainsFunc(s.pins[name], func(sp pep440.Specifier) bool { return sp.Match(v) })
}

// allowPrereleases reports whether pre-releases of name may be chosen
// under cons. The default policy is uv's if-necessary-or-explicit:
//   - explicit: a top-level requirement on the project names a
//     pre-release (see namesPrerelease), which opts the whole project in,
//     for the requirements of its dependants too;
//   - if necessary: the project has no usable final release at all;
//   - otherwise a pre-release is admitted only when every requirement on
//     the project names one (PEP 440's rule applied to each specifier), so
//     a dependency's "c==2.0b1" is not enough while another requirement
//     on c names no pre-release.
func (s *solver) allowPrereleases(name string, cons []constraint, all []Candidate) bool {
	switch s.o.prereleases {
	case PrereleasesAllow:
		return true
	case PrereleasesIfNecessaryOrExplicit:
		if !slices.ContainsFunc(all, func(c Candidate) bool { return s.usable(name, c) && !c.Version.IsPrerelease() }) {
			return true
		}
	}
	if s.optIn[name] {
		return true
	}
	return len(cons) > 0 && !slices.ContainsFunc(cons, func(c constraint) bool { return !c.namesPrerelease() })
}
