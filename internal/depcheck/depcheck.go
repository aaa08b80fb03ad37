// Package depcheck guards hfpack's architecture: each package sits on a
// floor (design.md's table) and may import only packages on lower floors,
// or packages of its own component (builder/llb may import builder/tree);
// nothing imports cmd/ except the binary the package belongs to.
//
// The test in this package runs Check over the module; Check is exported
// so the rules themselves are tested on synthetic graphs.
package depcheck

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// Floor names the packages on one floor by path prefix relative to the
// module root ("builder" covers builder and builder/...).
type Floor struct {
	Name     string
	Prefixes []string
}

// Floors is hfpack's table, ground floor first (see /README's layout
// paragraph and design.md).
var Floors = []Floor{
	{"standards, image contract, leaves", []string{"python", "templates", "imagespec", "accelerators", "hub", "internal"}},
	{"manifest", []string{"manifest"}},
	{"lock, bases", []string{"lockfile", "baseimages"}},
	{"builder, backends, publish", []string{"builder"}},
	{"pipeline", []string{"pipeline"}},
	{"binaries and their tests", []string{"cmd", "e2e", "examples"}},
}

// Graph maps each package of a module (path relative to the module root,
// "." for the root) to the module packages it imports.
type Graph map[string][]string

// Check returns one error per import that breaks the rules, sorted.
func Check(floors []Floor, g Graph) []error {
	var errs []string
	pkgs := make([]string, 0, len(g))
	for p := range g {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	for _, p := range pkgs {
		fp, ok := floorOf(floors, p)
		if !ok {
			errs = append(errs, fmt.Sprintf("%s is on no floor: add its directory to depcheck.Floors and design.md", p))
			continue
		}
		for _, imp := range g[p] {
			if msg := checkEdge(floors, p, fp, imp); msg != "" {
				errs = append(errs, msg)
			}
		}
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = fmt.Errorf("%s", e)
	}
	return out
}

func checkEdge(floors []Floor, p string, fp int, imp string) string {
	if under(imp, "cmd") {
		if binary(imp) != binary(p) {
			return fmt.Sprintf("%s imports %s: nothing imports cmd/ (move what both need to a package below)", p, imp)
		}
		return ""
	}
	if component(imp) == component(p) {
		return ""
	}
	fi, ok := floorOf(floors, imp)
	if !ok {
		return "" // reported as a package of its own
	}
	if fi >= fp {
		return fmt.Sprintf("%s (floor %d, %s) imports %s (floor %d, %s): an import must point down the floors",
			p, fp, floors[fp].Name, imp, fi, floors[fi].Name)
	}
	return ""
}

// floorOf returns the floor of package p by the longest matching prefix.
func floorOf(floors []Floor, p string) (int, bool) {
	best, bestLen := -1, -1
	for i, f := range floors {
		for _, pre := range f.Prefixes {
			if under(p, pre) && len(pre) > bestLen {
				best, bestLen = i, len(pre)
			}
		}
	}
	return best, best >= 0
}

func under(p, prefix string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }

// component is the unit whose packages may import each other whatever
// their floor: the top-level directory, or the first two elements under
// internal/ and cmd/ (each internal leaf and each binary is its own).
func component(p string) string {
	parts := strings.SplitN(p, "/", 3)
	if (parts[0] == "internal" || parts[0] == "cmd") && len(parts) > 1 {
		return parts[0] + "/" + parts[1]
	}
	return parts[0]
}

// binary is cmd/NAME for a package under cmd/NAME, else "".
func binary(p string) string {
	if !under(p, "cmd") {
		return ""
	}
	return component(p)
}

// Load lists the non-test imports of every package of the module in dir
// with go list, keeping only imports of the module's own packages.
func Load(dir string) (Graph, error) {
	cmd := exec.Command("go", "list", "-e", "-f", "{{.Module.Path}} {{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "./...")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list in %s: %w: %s", dir, err, stderr.Bytes())
	}
	g := Graph{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		mod := f[0]
		rel := func(p string) (string, bool) {
			if p == mod {
				return ".", true
			}
			r, ok := strings.CutPrefix(p, mod+"/")
			return r, ok
		}
		p, _ := rel(f[1])
		g[p] = []string{}
		for _, imp := range f[2:] {
			if r, ok := rel(imp); ok {
				g[p] = append(g[p], r)
			}
		}
	}
	return g, sc.Err()
}
