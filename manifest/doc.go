// Package manifest reads and validates hfpack.toml, the file that says which
// model to serve, which Python requirements it needs and which accelerator it
// runs on.
//
// Load decodes the file strictly (unknown keys are errors), applies defaults
// and validates every field before any work starts. Every problem found is
// reported at once, each naming the file, the line and the key:
//
//	hfpack.toml:14: accelerator.type: unknown accelerator "NVIDIA_L5" (did you mean "NVIDIA_L4"?)
package manifest
