// Package modelcheck validates a Hugging Face model directory before it is
// built into an image, so a model that cannot load fails the build instead
// of crash-looping on Vertex.
//
// Check reads config.json and the weights' headers (safetensors headers are
// parsed in Go; no Python, no torch), never the weights themselves, so
// checking a 100 GB model costs a few kilobytes of I/O.
package modelcheck
