package depcheck

import (
	"fmt"
	"strings"
	"testing"
)

// The module keeps its floors.
func TestModuleFloors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	g, err := Load("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g["manifest"]; !ok {
		t.Fatalf("go list found no manifest package in %d packages: wrong directory?", len(g))
	}
	for _, err := range Check(Floors, g) {
		t.Error(err)
	}
}

// A module with wrong imports fails, one error per wrong import.
func TestBadModuleFails(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	g, err := Load("testdata/bad")
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(Check(Floors, g))
	for _, want := range []string{
		"manifest (floor 1, manifest) imports baseimages (floor 2, lock, bases): an import must point down the floors",
		"builder imports cmd/hfpack/internal/project: nothing imports cmd/",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Check(testdata/bad) = %s\nwant an error %q", got, want)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		name string
		g    Graph
		want string // "" for no error
	}{
		{"down the floors", Graph{"builder": {"lockfile", "manifest", "python/pep440", "internal/fsio"}}, ""},
		{"within a component", Graph{"builder/llb": {"builder", "builder/tree"}, "python/tags": {"python/pep508"}}, ""},
		{"a binary's own internals", Graph{"cmd/hfpack": {"cmd/hfpack/internal/commands"}}, ""},
		{"up a floor", Graph{"manifest": {"baseimages"}}, "manifest (floor 1, manifest) imports baseimages (floor 2"},
		{"same floor, other component", Graph{"lockfile": {"baseimages"}}, "lockfile (floor 2, lock, bases) imports baseimages (floor 2"},
		{"the ground floor imports up", Graph{"python/pep440": {"lockfile/pylock"}}, "python/pep440 (floor 0"},
		{"a library imports cmd", Graph{"pipeline": {"cmd/hfpack/internal/ui"}}, "pipeline imports cmd/hfpack/internal/ui: nothing imports cmd/"},
		{"one binary imports another", Graph{"cmd/hfpack/internal/project": {"cmd/hfpack-sidecar/sidecar/config"}}, "nothing imports cmd/"},
		{"an internal leaf imports another", Graph{"internal/fsio": {"internal/leftover"}}, "internal/fsio (floor 0"},
		{"a package on no floor", Graph{"newthing": nil}, "newthing is on no floor"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			errs := Check(Floors, tt.g)
			switch {
			case tt.want == "" && len(errs) > 0:
				t.Errorf("Check(%v) = %v, want no error", tt.g, errs)
			case tt.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.want)):
				t.Errorf("Check(%v) = %v, want one error containing %q", tt.g, errs, tt.want)
			}
		})
	}
}
