// Package resolve chooses one version of every project a set of PEP 508
// requirements needs, for one target environment.
//
// The search is a depth-first backtracking search with conflict-directed
// backjumping: each failure records which earlier decisions caused it, so
// the search skips decisions that had nothing to do with a conflict, and
// the explanation of an unsatisfiable request is a chain of the
// requirements that clash ("transformers 4.46.1 requires tokenizers<0.21,
// but tokenizers==0.21.0 was requested").
//
// Projects come from a Provider (the index layer, or an in-memory one in
// tests). Extras are resolved as virtual packages "name[extra]" pinned to the
// same version as "name"; markers are evaluated for the target environment;
// Requires-Python, yanked files and wheel availability exclude versions;
// pre-releases follow a policy; versions from an existing lock are tried
// first. The result is sorted and depends only on the inputs.
package resolve
