package resolve

import (
	"fmt"

	"github.com/hfpack/hfpack/python/pep440"
	"github.com/hfpack/hfpack/python/pep508"
)

// ParseDependencies builds Dependencies from core metadata fields as
// written in METADATA: the Requires-Dist lines, Requires-Python and the
// Provides-Extra lines. It is a helper for Providers that read wheels or
// PEP 658 metadata files.
func ParseDependencies(requiresDist []string, requiresPython string, providesExtra []string) (Dependencies, error) {
	var d Dependencies
	for _, line := range requiresDist {
		r, err := pep508.ParseRequirement(line)
		if err != nil {
			return Dependencies{}, fmt.Errorf("Requires-Dist: %w", err)
		}
		d.Requires = append(d.Requires, r)
	}
	rp, err := pep440.ParseSpecifierSet(requiresPython)
	if err != nil {
		return Dependencies{}, fmt.Errorf("Requires-Python: %w", err)
	}
	d.RequiresPython = rp
	for _, e := range providesExtra {
		d.Extras = append(d.Extras, pep508.NormalizeName(e))
	}
	return d, nil
}
