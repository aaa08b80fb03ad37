package resolve

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hfpack/hfpack/python/pep440"
	"github.com/hfpack/hfpack/python/pep508"
)

// Result is a resolution: one version of every project needed.
type Result struct {
	// Packages are sorted by name.
	Packages []Package
	// Warnings are sorted, e.g. an extra a project does not provide.
	Warnings []string
}

// Package is one chosen project.
type Package struct {
	// Name is the normalised project name.
	Name string
	// Version is the chosen version.
	Version pep440.Version
	// Candidate is the provider's candidate, with its Artifact.
	Candidate Candidate
	// Extras are the extras of the project that were requested, sorted.
	Extras []string
	// Dependencies are the normalised names of the projects this one
	// needs in the target environment (its requested extras included),
	// sorted.
	Dependencies []string
	// RequiresPython is the version's Requires-Python metadata.
	RequiresPython pep440.SpecifierSet
	// Direct reports whether a top-level requirement names the project.
	Direct bool
}

// ErrNoSolution is wrapped by *NoSolutionError, for errors.Is.
var ErrNoSolution = errors.New("no solution")

// ErrNotFound may be wrapped by a Provider's Versions error for a project
// that does not exist; the resolver treats it as a project without versions
// and explains the conflict instead of failing outright.
var ErrNotFound = errors.New("project not found")

// NoSolutionError reports requirements that cannot all be satisfied.
type NoSolutionError struct {
	// Explanation is the chain of clashing requirements, one finding per
	// line, nested lines indented.
	Explanation string
}

// Error returns the explanation under a one-line summary.
func (e *NoSolutionError) Error() string {
	return "no solution for the requirements:\n" + indent(e.Explanation, "  ")
}

// Is makes errors.Is(err, ErrNoSolution) hold.
func (e *NoSolutionError) Is(target error) bool { return target == ErrNoSolution }

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// result assembles the decisions into a sorted Result.
func (s *solver) result() *Result {
	byName := map[string]*Package{}
	var names []string
	warnings := map[string]bool{}
	for _, key := range s.order {
		name, _ := splitKey(key)
		if byName[name] == nil {
			byName[name] = &Package{Name: name, Direct: s.direct[name]}
			names = append(names, name)
		}
	}
	for _, key := range s.order {
		name, extra := splitKey(key)
		d, p := s.decided[key], byName[name]
		if extra == "" {
			p.Version, p.Candidate, p.RequiresPython = d.cand.Version, d.cand, d.deps.RequiresPython
			if d.cand.Exclusion == Yanked {
				w := fmt.Sprintf("%s %s is yanked", name, d.cand.Version)
				if d.cand.Reason != "" {
					w += " (" + d.cand.Reason + ")"
				}
				warnings[w+"; it is locked because the requirements pin it exactly"] = true
			}
		} else {
			p.Extras = append(p.Extras, extra)
			if !slices.ContainsFunc(d.deps.Extras, func(e string) bool { return pep508.NormalizeName(e) == extra }) {
				warnings[fmt.Sprintf("%s %s does not provide the extra %q", name, d.cand.Version, extra)] = true
			}
		}
		for _, r := range d.reqs {
			if dep := baseName(r.key); dep != name && !slices.Contains(p.Dependencies, dep) {
				p.Dependencies = append(p.Dependencies, dep)
			}
		}
	}
	slices.Sort(names)
	res := &Result{Packages: make([]Package, 0, len(names))}
	for _, n := range names {
		p := byName[n]
		slices.Sort(p.Extras)
		slices.Sort(p.Dependencies)
		res.Packages = append(res.Packages, *p)
	}
	for w := range warnings {
		res.Warnings = append(res.Warnings, w)
	}
	slices.Sort(res.Warnings)
	return res
}
