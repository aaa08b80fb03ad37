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

func (c constraint) namesPrerelease() bool {
	if c.exact != nil {
		return c.exact.IsPrerelease()
	}
	return c.spec.NamesPrerelease()
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
	allowPre := s.allowPrereleases(cons, all)
	var out []Candidate
	for _, c := range all {
		if !s.usable(c) || c.Version.IsPrerelease() && !allowPre {
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

func (s *solver) usable(c Candidate) bool {
	return c.Exclusion == Installable && (len(c.RequiresPython) == 0 || c.RequiresPython.Match(s.python))
}

func (s *solver) allowPrereleases(cons []constraint, all []Candidate) bool {
	switch s.o.prereleases {
	case PrereleasesAllow:
		return true
	case PrereleasesIfNecessaryOrExplicit:
		if !slices.ContainsFunc(all, func(c Candidate) bool { return s.usable(c) && !c.Version.IsPrerelease() }) {
			return true
		}
	}
	return slices.ContainsFunc(cons, constraint.namesPrerelease)
}
