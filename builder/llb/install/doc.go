// Package install is the program hfpack runs inside a BuildKit ExecOp to
// install wheels: hfpack's own installer (builder/wheelinstall), with no pip
// and no network, writing the installed files under an output directory
// with fixed modes and modification times, so that the layer BuildKit
// snapshots needs no timestamp rewriting and matches the embedded builder's
// file for file.
package install
