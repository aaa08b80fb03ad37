package resolve

import (
	"errors"
	"testing"

	"github.com/hfpack/hfpack/python/pep508"
)

func TestParseDependencies(t *testing.T) {
	d, err := ParseDependencies(
		[]string{"tokenizers<0.21,>=0.20", `torch; extra == "torch"`, "numpy (>=1.17)"},
		">=3.9.0", []string{"torch", "Sentence_Piece"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Requires) != 3 || d.Requires[2].Specifier.String() != ">=1.17" {
		t.Errorf("Requires = %v", d.Requires)
	}
	if d.RequiresPython.String() != ">=3.9.0" {
		t.Errorf("RequiresPython = %s", d.RequiresPython)
	}
	if len(d.Extras) != 2 || d.Extras[1] != "sentence-piece" {
		t.Errorf("Extras = %q, want normalised names", d.Extras)
	}
	if _, err := ParseDependencies([]string{"numpy>=1.17.*"}, "", nil); !errors.Is(err, pep508.ErrSyntax) {
		t.Errorf("bad Requires-Dist: error = %v, want pep508.ErrSyntax", err)
	}
	if _, err := ParseDependencies(nil, ">=3.6.*", nil); err == nil {
		t.Error("bad Requires-Python accepted")
	}
}
