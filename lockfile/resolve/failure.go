package resolve

import "slices"

// origins returns the decisions that imposed the constraints on key.
func (s *solver) origins(key string) map[string]bool {
	set := map[string]bool{}
	for _, c := range s.cons[key] {
		if c.from != "" {
			set[c.from] = true
		}
	}
	return set
}

// exhausted is the failure of a package none of whose versions works.
func (s *solver) exhausted(key string, tried []attempt) (*failure, error) {
	name, _ := splitKey(key)
	all, err := s.fetch.getVersions(s.ctx, name)
	if err != nil {
		return nil, err
	}
	culprits := s.origins(key)
	for _, a := range tried {
		for k := range a.culprits {
			if k != key {
				culprits[k] = true
			}
		}
	}
	e := &exhaustion{key: key, cons: slices.Clone(s.cons[key]), versions: all, tried: tried, s: s}
	if len(tried) > 0 {
		s.learn(key, tried, e)
	}
	if len(tried) == 0 {
		if via := s.chainTo(key); len(via) > 0 {
			e.via = via[:len(via)-1]
		}
	}
	return &failure{culprits: culprits, why: e}, nil
}

// chainTo returns a chain of constraints by which key came to be required,
// starting from a decision on a requested package: "a 3 requires b>=2",
// "b 2 requires key". It is empty for a requested package.
func (s *solver) chainTo(key string) []constraint {
	var rev []constraint
	for seen := map[string]bool{}; !seen[key]; {
		seen[key] = true
		var next *constraint
		for i, c := range s.cons[key] {
			if c.from == "" {
				next = nil
				break
			}
			if next == nil {
				next = &s.cons[key][i]
			}
		}
		if next == nil {
			break
		}
		rev = append(rev, *next)
		key = next.from
	}
	slices.Reverse(rev)
	return rev
}

// clash is the failure of a new constraint on an already decided package.
func (s *solver) clash(d dep, other *decision) *failure {
	// The nogood is the decision being made and the one it contradicts.
	culprits := map[string]bool{d.c.from: true, d.key: true}
	var before []constraint
	for _, c := range s.cons[d.key] {
		if c.from != d.c.from || c.req != d.c.req {
			before = append(before, c)
		}
	}
	name, _ := splitKey(d.key)
	all, _ := s.fetch.getVersions(s.ctx, name) // already fetched: it was decided
	return &failure{culprits: culprits, why: &clashNode{
		newc: d.c, key: d.key, chosen: other.cand.Version, before: before, versions: all, s: s,
		via: s.chainTo(d.c.from),
	}}
}

// learned records that every version in tried of a package fails while the
// decisions in given stand: the union of the nogoods of the attempts. It
// stays true after backtracking, so when the package comes up again with
// no other candidates and the same decisions, the search skips it at once
// instead of repeating the same failures under every version of a parent.
type learned struct {
	tried map[string]bool   // canonical versions
	given map[string]string // decided key -> canonical version
	why   node
}

func (s *solver) learn(key string, tried []attempt, why node) {
	l := learned{tried: map[string]bool{}, given: map[string]string{}, why: why}
	for _, a := range tried {
		l.tried[a.version.String()] = true
		for k := range a.culprits {
			if k == key {
				continue
			}
			d := s.decided[k]
			if d == nil {
				return // not a nogood over current decisions; learn nothing
			}
			l.given[k] = d.cand.Version.String()
		}
	}
	s.learned[key] = append(s.learned[key], l)
}

// recall returns the failure of key if something learned covers it.
func (s *solver) recall(key string, cands []Candidate) *failure {
next:
	for _, l := range s.learned[key] {
		for _, c := range cands {
			if !l.tried[c.Version.String()] {
				continue next
			}
		}
		for k, v := range l.given {
			if d := s.decided[k]; d == nil || d.cand.Version.String() != v {
				continue next
			}
		}
		culprits := s.origins(key)
		for k := range l.given {
			culprits[k] = true
		}
		return &failure{culprits: culprits, why: l.why}
	}
	return nil
}
