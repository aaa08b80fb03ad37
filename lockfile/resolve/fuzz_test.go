package resolve

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hfpack/hfpack/python/pep440"
	"github.com/hfpack/hfpack/python/pep508"
)

const (
	fuzzPackages = 4
	fuzzVersions = 3
)

// fuzzIndex builds a tiny index and request from bytes: every version of
// every package may depend on every other package with one of a few
// specifiers, some versions have no usable wheel.
func fuzzIndex(data []byte) (memIndex, []string) {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	spec := func(b byte) string {
		k := int(b/5)%fuzzVersions + 1
		return [...]string{"", fmt.Sprintf(">=%d", k), fmt.Sprintf("<%d", k), fmt.Sprintf("==%d", k), fmt.Sprintf("!=%d", k)}[b%5]
	}
	index := memIndex{}
	for p := 0; p < fuzzPackages; p++ {
		name := fmt.Sprintf("p%d", p)
		for ver := fuzzVersions; ver >= 1; ver-- {
			mv := v(fmt.Sprint(ver))
			for q := 0; q < fuzzPackages; q++ {
				if b := next(); q != p && b%3 != 0 {
					mv.requires = append(mv.requires, fmt.Sprintf("p%d%s%s%s", q, [...]string{"", "[x]"}[b/3%2], spec(b/6), [...]string{"", `; extra == "x"`}[b/30%2]))
				}
			}
			mv = mv.provides("x")
			if next()%7 == 0 {
				mv = mv.excluded(SdistOnly, "")
			}
			index[name] = append(index[name], mv)
		}
	}
	roots := []string{"p0" + [...]string{"", "[x]"}[next()%2] + spec(next())}
	for q := 1; q < fuzzPackages; q++ {
		if b := next(); b%2 == 1 {
			roots = append(roots, fmt.Sprintf("p%d%s", q, spec(b/2)))
		}
	}
	return index, roots
}

// bruteForce reports whether some assignment (each package absent or at
// one usable version, with or without its extra "x") satisfies the request
// and every chosen version's dependencies.
func bruteForce(index memIndex, roots []pep508.Requirement) bool {
	type state struct{ ver, extra int } // ver 0 = absent
	assign := make([]state, fuzzPackages)
	versions := make([]pep440.Version, fuzzVersions+1)
	for i := 1; i <= fuzzVersions; i++ {
		versions[i] = pep440.MustParseVersion(fmt.Sprint(i))
	}
	parsed := map[string]pep508.Requirement{}
	for _, vs := range index {
		for _, mv := range vs {
			for _, text := range mv.requires {
				parsed[text] = pep508.MustParseRequirement(text)
			}
		}
	}
	satisfied := func(r pep508.Requirement) bool {
		a := assign[r.Name[1]-'0']
		return a.ver != 0 && r.Specifier.Match(versions[a.ver]) && (len(r.Extras) == 0 || a.extra == 1)
	}
	names := make([]string, fuzzPackages)
	for p := range names {
		names[p] = fmt.Sprintf("p%d", p)
	}
	valid := func() bool {
		for _, r := range roots {
			if !satisfied(r) {
				return false
			}
		}
		for p, a := range assign {
			if a.ver == 0 {
				continue
			}
			mv := index[names[p]][fuzzVersions-a.ver]
			if mv.exclusion != Installable {
				return false
			}
			for _, text := range mv.requires {
				r := parsed[text]
				if r.Marker != nil && a.extra == 0 {
					continue // only under the extra
				}
				if !satisfied(r) {
					return false
				}
			}
		}
		return true
	}
	var try func(i int) bool
	try = func(i int) bool {
		if i == fuzzPackages {
			return valid()
		}
		for ver := 0; ver <= fuzzVersions; ver++ {
			for extra := 0; extra <= min(ver, 1); extra++ {
				assign[i] = state{ver, extra}
				if try(i + 1) {
					return true
				}
			}
		}
		return false
	}
	return try(0)
}

// FuzzResolve checks the resolver against brute force on tiny indexes: it
// finds a solution exactly when one exists, and what it returns is one.
func FuzzResolve(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("backtracking over several levels, please"))
	f.Add([]byte{1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46, 49, 52, 55, 58, 61, 64, 67, 70, 73})
	f.Add([]byte{2, 2, 2, 2, 5, 5, 5, 5, 8, 8, 8, 8, 11, 11, 11, 11, 14, 14, 14, 14, 17, 17, 17, 17, 3, 3, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		index, rootText := fuzzIndex(data)
		roots := reqs(rootText...)
		res, err := Resolve(context.Background(), newProvider(index), roots, linux311)
		exists := bruteForce(index, roots)
		switch {
		case err != nil && !errors.Is(err, ErrNoSolution):
			t.Fatalf("Resolve(%q): %v", rootText, err)
		case err != nil && exists:
			t.Fatalf("Resolve(%q) found no solution, but one exists; index %+v:\n%v", rootText, index, err)
		case err == nil && !exists:
			t.Fatalf("Resolve(%q) = %v, but brute force finds no solution; index %+v", rootText, pins(res), index)
		case err == nil:
			checkSolution(t, index, roots, res)
		}
	})
}

func checkSolution(t *testing.T, index memIndex, roots []pep508.Requirement, res *Result) {
	t.Helper()
	chosen := map[string]pep440.Version{}
	for _, p := range res.Packages {
		chosen[p.Name] = p.Version
	}
	extras := map[string]bool{}
	for _, p := range res.Packages {
		extras[p.Name] = len(p.Extras) > 0
	}
	check := func(r pep508.Requirement, who string) {
		got, ok := chosen[r.NormalizedName()]
		if !ok || !r.Specifier.Match(got) || len(r.Extras) > 0 && !extras[r.NormalizedName()] {
			t.Fatalf("%s requires %s, but the result has %v", who, r, pins(res))
		}
	}
	for _, r := range roots {
		check(r, "the request")
	}
	for _, p := range res.Packages {
		for _, mv := range index[p.Name] {
			if !pep440.MustParseVersion(mv.version).Equal(p.Version) {
				continue
			}
			if mv.exclusion != Installable {
				t.Fatalf("result %v chooses excluded %s %s", pins(res), p.Name, p.Version)
			}
			for _, text := range mv.requires {
				r := pep508.MustParseRequirement(text)
				if r.Marker != nil && len(p.Extras) == 0 {
					continue
				}
				check(r, p.Name+" "+p.Version.String())
			}
		}
	}
}
