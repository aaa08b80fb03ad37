// Package baseimages chooses the base image of a serving image for the
// accelerator a manifest names, and refuses builds that cannot run there.
//
// The package carries an embedded catalog (see Default) generated from the
// sorted data files under data/: Vertex AI accelerators, CUDA toolkits and
// the drivers they need, torch releases and the CUDA variants and GPU
// architectures each ships, nvidia/cuda base images pinned by digest, a CPU
// base, and relocatable CPython runtimes for bases without Python. Every row
// records where its facts came from. `go generate` runs cmd/refresh, which
// re-resolves image digests where the network allows; tests never need it.
//
// Select turns a Request (the locked packages, the target Python, the
// accelerator) into a Selection: the base image reference with its digest,
// the CUDA version and flavour, the Python to use, the environment the image
// needs on Vertex, and the reasons for every choice. Builds that cannot run
// on the accelerator fail with typed errors (see the Err* types) that name
// the cause and the fix.
//
// The choice is made for the accelerator named in the manifest, never for
// the GPU (or lack of one) on the build machine.
package baseimages

//go:generate go run ./cmd/refresh -data data
