// Package fsio holds the two file primitives every hfpack stage needs:
// an atomic writer (a temporary file beside the target, renamed into place
// only when complete, so no reader ever sees half a file and a failed
// write leaves nothing behind) and a sha256 file hasher that remembers
// hashes by path, size and modification time, so multi-GB model files
// are hashed once between lock, check and build.
//
// It is a leaf: it imports only the standard library.
package fsio
