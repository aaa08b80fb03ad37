// Package accelerators is the table of Vertex AI accelerator types hfpack
// knows (GPU name, compute capability, machine types, platform), embedded
// from data/accelerators.json, and the types that describe them.
//
// It is a leaf on the ground floor: the manifest reads it to validate
// [accelerator] type, and the base catalog (package baseimages) reads it
// to choose a CUDA base; neither has to know the other.
package accelerators
