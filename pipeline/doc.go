// Package pipeline is hfpack's library stage: it ties one project together
// (the manifest, its lock beside it, the base chosen for both) and turns it
// into a builder's inputs, in the order a build runs:
//
//	manifest -> lock check -> base -> model pin -> wheels -> app files -> builder.Inputs
//
// Open loads a project; Preflight runs every check a build makes before it
// writes a byte (check runs the same); Prepare goes on to the inputs. The
// stages themselves live in manifest, lockfile, baseimages and builder;
// cmd/hfpack parses flags, calls this package and prints.
package pipeline
