// Package templates holds the files hfpack copies into every image besides
// the model and the wheels: the stdlib-only Python worker that runs the
// user's handler for hfpack-sidecar.
package templates
