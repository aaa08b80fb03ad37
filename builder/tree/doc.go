// Package tree is the in-memory description of a file tree that becomes one
// image layer: paths, types, modes and lazily opened contents.
//
// A Tree holds metadata only. File contents are read through each entry's
// Open function when the layer is written, so a tree describing gigabytes of
// model weights costs a few hundred bytes per file. Entries come back from
// Entries in a fixed order with every parent directory present, which is what
// a reproducible layer tar needs.
package tree
