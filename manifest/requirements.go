package manifest

import (
	"errors"
	"fmt"
	"strings"
)

// requirementName parses a PEP 508 requirement and returns its normalised
// project name.
func requirementName(r string) (string, error) {
	if strings.TrimSpace(r) == "" {
		return "", errors.New("empty requirement: write a PEP 508 requirement such as \"torch==2.4.1\"")
	}
	i := strings.IndexAny(r, "[(<>=!~;@ ")
	n := r
	if i >= 0 {
		n = r[:i]
	}
	if !packageName.MatchString(n) || strings.Contains(r, ">>") {
		return "", fmt.Errorf("%q is not a valid PEP 508 requirement", r)
	}
	return normalize(n), nil
}
