package manifest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hfpack/hfpack/python/pep508"
)

// requirementName parses a PEP 508 requirement and returns its normalised
// project name. Direct URL requirements are refused: every wheel must come
// from an index so that the lock can pin it by hash and the build can fetch
// it without running anything.
func requirementName(r string) (string, error) {
	if strings.TrimSpace(r) == "" {
		return "", errors.New("empty requirement: write a PEP 508 requirement such as \"torch==2.4.1\"")
	}
	req, err := pep508.ParseRequirement(r)
	if err != nil {
		return "", fmt.Errorf("%q is not a valid PEP 508 requirement: %w", r, err)
	}
	if req.URL != "" {
		return "", fmt.Errorf("%q is a direct URL requirement: name the package and a version, and add its index with [[python.index]]", r)
	}
	return req.NormalizedName(), nil
}
