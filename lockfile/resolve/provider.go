package resolve

import (
	"context"
	"fmt"

	"github.com/hfpack/hfpack/python/pep440"
	"github.com/hfpack/hfpack/python/pep508"
)

// Provider supplies the candidate versions of projects and their
// dependencies. The resolver calls it from several goroutines at once (it
// prefetches), so implementations must be safe for concurrent use.
type Provider interface {
	// Versions returns every version of the project with the given
	// normalised name, in any order, each with the file that would be
	// installed for the target or the reason none can be. A project that
	// does not exist returns no candidates and no error, or an error
	// wrapping ErrNotFound.
	Versions(ctx context.Context, name string) ([]Candidate, error)
	// Dependencies returns the core metadata of a candidate that Versions
	// returned as installable (Exclusion == Installable, or Yanked with a
	// file).
	Dependencies(ctx context.Context, name string, c Candidate) (Dependencies, error)
}

// Candidate is one version of a project.
type Candidate struct {
	// Version is the version.
	Version pep440.Version
	// Artifact is the provider's file for this version (a wheel chosen
	// for the target: URL, hashes, size). The resolver does not look at it;
	// it comes back in the Result.
	Artifact any
	// Exclusion says why the version cannot be installed;
	// Installable when it can.
	Exclusion Exclusion
	// Reason details the exclusion for messages, e.g. the tag mismatch
	// ("built for macOS (macosx_11_0_arm64)") or the yank reason.
	Reason string
	// RequiresPython is the Requires-Python the index lists for the file
	// (data-requires-python); empty when the index does not say.
	RequiresPython pep440.SpecifierSet
}

// Exclusion is why a candidate version cannot be installed.
type Exclusion int

const (
	// Installable: a wheel fits the target.
	Installable Exclusion = iota
	// SdistOnly: the version has only source distributions, and hfpack
	// installs wheels only.
	SdistOnly
	// NoCompatibleWheel: the version has wheels, but none fits the
	// target's Python, platform, ABI or glibc.
	NoCompatibleWheel
	// Yanked: every file that would fit is yanked (PEP 592). The
	// candidate still carries the file (Artifact): a yanked release is
	// chosen only when a top-level requirement pins it exactly (== or
	// ===), as PEP 592 and uv allow.
	Yanked
	// Unavailable: any other reason, given in Candidate.Reason.
	Unavailable
)

// String names the exclusion, e.g. "sdist only".
func (e Exclusion) String() string {
	switch e {
	case Installable:
		return "installable"
	case SdistOnly:
		return "sdist only"
	case NoCompatibleWheel:
		return "no compatible wheel"
	case Yanked:
		return "yanked"
	case Unavailable:
		return "unavailable"
	}
	return fmt.Sprintf("Exclusion(%d)", int(e))
}

// Dependencies is the part of a version's core metadata (METADATA) the
// resolver needs.
type Dependencies struct {
	// Requires are the Requires-Dist entries, markers included.
	Requires []pep508.Requirement
	// RequiresPython is the Requires-Python entry; empty for any.
	RequiresPython pep440.SpecifierSet
	// Extras are the Provides-Extra entries.
	Extras []string
}
