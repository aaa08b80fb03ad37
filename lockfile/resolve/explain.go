package resolve

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hfpack/hfpack/python/pep440"
)

// node is the reason for a failure, rendered only if the search fails.
type node interface {
	lines() []string
}

// attempt is one version tried for a package and why it failed.
type attempt struct {
	version  pep440.Version
	why      node
	culprits map[string]bool
}

// leaf is a failure particular to one candidate.
type leaf struct{ msg string }

func (l *leaf) lines() []string { return []string{l.msg} }

// exhaustion: no version of key works under cons.
type exhaustion struct {
	key      string
	cons     []constraint
	versions []Candidate
	tried    []attempt
	via      []constraint // how key came to be required, from the top
	s        *solver
	rendered []string // lines, once computed: learned failures are shared
}

// clashNode: a new constraint contradicts a decided version.
type clashNode struct {
	newc     constraint
	key      string
	chosen   pep440.Version
	before   []constraint
	versions []Candidate
	via      []constraint // how newc.from came to be required, from the top
	s        *solver
}

// viaOf returns how the failing package of n came to be required.
func viaOf(n node) []constraint {
	switch n := n.(type) {
	case *exhaustion:
		if len(n.tried) == 1 {
			return viaOf(n.tried[0].why) // lines() shows the one attempt
		}
		return n.via
	case *clashNode:
		return n.via
	}
	return nil
}

// maxTried bounds how many failed versions an explanation lists.
const maxTried = 4

func explain(n node) string { return strings.Join(n.lines(), "\n") }

func (e *exhaustion) lines() []string {
	if e.rendered == nil {
		e.rendered = e.render()
	}
	return e.rendered
}

func (e *exhaustion) render() []string {
	if len(e.tried) == 0 {
		return []string{conflictText(e.s, e.key, e.cons, e.versions)}
	}
	if len(e.tried) == 1 {
		if l, ok := e.tried[0].why.(*leaf); ok {
			return append([]string{joinCons(e.cons) + ", but " + l.msg}, e.skipped()...)
		}
		return append(slices.Clone(e.tried[0].why.lines()), e.skipped()...)
	}
	out := []string{fmt.Sprintf("no version of %s works (%s):", e.key, joinCons(e.cons))}
	groups := e.groups()
	for i, g := range groups {
		if i == maxTried {
			n := 0
			for _, g := range groups[i:] {
				n += len(g.versions)
			}
			out = append(out, fmt.Sprintf("  … and %d more versions of %s fail likewise", n, e.key))
			break
		}
		out = append(out, indentAll(g.render(e.key), "  ")...)
	}
	return append(out, indentAll(e.skipped(), "  ")...)
}

// skipped explains the newest versions the constraints allow that were
// never tried because they cannot be installed (at most two), so that a
// user sees why, say, the newest release was not an option.
func (e *exhaustion) skipped() []string {
	var out []string
	name, _ := splitKey(e.key)
	allowPre := e.s.allowPrereleases(name, e.cons, e.versions)
	for _, v := range e.versions {
		if len(out) == 2 {
			break
		}
		if admitsAll(e.cons, v.Version) && (!e.s.usable(name, v) || v.Version.IsPrerelease() && !allowPre) {
			out = append(out, "(and "+e.s.unusableReason(name, v, allowPre)+")")
		}
	}
	return out
}

// group is a set of versions that failed for the same reason: the same
// (learned) failure, or messages that differ only in the version.
type group struct {
	versions []pep440.Version
	why      node
	template []string // lines with the version replaced by versionMark
	shared   bool     // the same failure node, not just the same text
}

const versionMark = "\x00"

func (e *exhaustion) groups() []*group {
	var groups []*group
	for _, a := range e.tried {
		id := e.key + " " + a.version.String()
		lines := a.why.lines()
		tmpl := make([]string, len(lines))
		for i, l := range lines {
			tmpl[i] = strings.ReplaceAll(l, id, e.key+" "+versionMark)
		}
		joined := strings.Join(tmpl, "\n")
		var found *group
		for _, g := range groups {
			if g.why == a.why {
				found = g
				found.shared = true
				break
			}
			if strings.Join(g.template, "\n") == joined && strings.Contains(joined, versionMark) {
				found = g
				break
			}
		}
		if found == nil {
			found = &group{why: a.why, template: tmpl}
			groups = append(groups, found)
		}
		found.versions = append(found.versions, a.version)
	}
	return groups
}

func (g *group) render(key string) []string {
	vs := versionList(g.versions)
	if g.shared || len(g.versions) == 1 && !strings.Contains(g.template[0], versionMark) {
		head := "with " + key + " " + vs
		if via := viaOf(g.why); len(g.versions) == 1 {
			for i, c := range via {
				if c.from == key && c.fromV.Equal(g.versions[0]) {
					head += " (" + joinChain(via[i:]) + ")"
					break
				}
			}
		}
		return append([]string{head + ":"}, indentAll(g.why.lines(), "  ")...)
	}
	out := make([]string, len(g.template))
	for i, l := range g.template {
		if len(g.versions) > 1 {
			l = strings.ReplaceAll(l, versionMark+" requires ", vs+" require ")
		}
		out[i] = strings.ReplaceAll(l, versionMark, vs)
	}
	return out
}

// versionList lists versions compactly: "30, 29, 28" or "30, 29, …, 1 (30 versions)".
func versionList(vs []pep440.Version) string {
	if len(vs) <= 3 {
		parts := make([]string, len(vs))
		for i, v := range vs {
			parts[i] = v.String()
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprintf("%s, %s, …, %s (%d versions)", vs[0], vs[1], vs[len(vs)-1], len(vs))
}

func (c *clashNode) lines() []string {
	cons := append([]constraint{c.newc}, c.before...)
	for _, v := range c.versions {
		if name, _ := splitKey(c.key); c.s.usable(name, v) && admitsAll(cons, v.Version) {
			return []string{fmt.Sprintf("%s, but %s %s had been chosen (%s)", renderCons(c.newc), c.key, c.chosen, joinCons(c.before))}
		}
	}
	return []string{conflictText(c.s, c.key, cons, c.versions)}
}

func indentAll(lines []string, prefix string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = prefix + l
	}
	return out
}

// conflictText explains why no version of key satisfies cons: one
// constraint no version meets, two that contradict each other, or the
// versions that meet them all being unusable.
func conflictText(s *solver, key string, cons []constraint, versions []Candidate) string {
	name, _ := splitKey(key)
	if len(versions) == 0 {
		return fmt.Sprintf("%s, but no versions of %s were found", joinCons(cons), name)
	}
	for _, c := range cons {
		if !anyAdmitted(versions, c) {
			return fmt.Sprintf("%s, but no version of %s matches %s (available: %s)", renderCons(c), name, constraintSpec(c), available(versions))
		}
	}
	for i := range cons {
		for j := i + 1; j < len(cons); j++ {
			if !anyAdmitted(versions, cons[i], cons[j]) {
				a, b := cons[i], cons[j]
				if a.from == "" && b.from != "" {
					a, b = b, a // "X requires Y<1, but Y==1 was requested"
				}
				return renderCons(a) + ", but " + renderCons(b)
			}
		}
	}
	if !anyAdmitted(versions, cons...) {
		return fmt.Sprintf("%s, but no version of %s satisfies all of these (available: %s)", joinCons(cons), name, available(versions))
	}
	var reasons []string
	allowPre := s.allowPrereleases(name, cons, versions)
	more := 0
	for _, v := range versions {
		if !admitsAll(cons, v.Version) {
			continue
		}
		if len(reasons) == 3 {
			more++
			continue
		}
		reasons = append(reasons, s.unusableReason(name, v, allowPre))
	}
	text := joinCons(cons) + ", but " + strings.Join(reasons, "; ")
	if more > 0 {
		text += fmt.Sprintf("; and %d older matching versions are excluded too", more)
	}
	return text
}

func anyAdmitted(versions []Candidate, cons ...constraint) bool {
	for _, v := range versions {
		if admitsAll(cons, v.Version) {
			return true
		}
	}
	return false
}

// unusableReason says why the resolver will not choose v.
func (s *solver) unusableReason(name string, v Candidate, allowPre bool) string {
	id := name + " " + v.Version.String()
	switch v.Exclusion {
	case SdistOnly:
		return id + " has only a source distribution (sdist): hfpack installs wheels only, because the image is built without compilers or pip; pin a version that has a wheel for the image, or publish a wheel to an index"
	case NoCompatibleWheel:
		return id + " has no wheel that fits the image: " + v.Reason
	case Yanked:
		if s.pinnedYanked(name, v.Version) {
			break // selectable: any other reason below applies
		}
		why := id + " was yanked"
		if v.Reason != "" {
			why += " (" + v.Reason + ")"
		}
		return why + "; a yanked release is used only when [python] requirements pin it exactly (" + name + "==" + v.Version.String() + ")"
	case Unavailable:
		return id + " is unavailable: " + v.Reason
	}
	if len(v.RequiresPython) > 0 && !v.RequiresPython.Match(s.python) {
		return fmt.Sprintf("%s requires Python %s; the image has %s", id, v.RequiresPython, s.python)
	}
	if v.Version.IsPrerelease() && !allowPre {
		return fmt.Sprintf("%s is a pre-release, used only when every requirement on %s names a pre-release, or [python] requirements opt %s in (%s>=%s)", id, name, name, name, v.Version)
	}
	return id + " conflicts with other choices"
}

func renderCons(c constraint) string {
	if c.from == "" {
		return c.req + " was requested"
	}
	return fmt.Sprintf("%s %s requires %s", c.from, c.fromV, c.req)
}

func joinCons(cons []constraint) string {
	parts := make([]string, len(cons))
	for i, c := range cons {
		parts[i] = renderCons(c)
	}
	return strings.Join(parts, " and ")
}

func joinChain(cons []constraint) string {
	parts := make([]string, len(cons))
	for i, c := range cons {
		parts[i] = renderCons(c)
	}
	return strings.Join(parts, ", ")
}

func constraintSpec(c constraint) string {
	if c.exact != nil {
		return "==" + c.exact.String()
	}
	if len(c.spec) == 0 {
		return "any version"
	}
	return c.spec.String()
}

// available lists the newest few versions, newest first.
func available(versions []Candidate) string {
	var parts []string
	for i, v := range versions {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(versions)-5))
			break
		}
		parts = append(parts, v.Version.String())
	}
	return strings.Join(parts, ", ")
}
