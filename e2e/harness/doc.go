// Package harness starts the real, local stand-ins for the internet that hfpack's end-to-end
// tests run against: a CNCF distribution registry, a Debian-based base image with a working
// CPython, a BuildKit daemon and an OCI runtime (runc) to run the built images.
//
// Every stand-in listens on loopback only, lives in a temporary directory and is stopped by
// t.Cleanup. A stand-in that cannot start on this machine (not root, a binary missing) skips the
// test with a message naming the cause and the fix; when the environment variable CI is "true"
// it fails the test instead, so a broken CI setup cannot pass by skipping. e2e/setup.sh installs
// everything the stand-ins need.
//
// Expensive artifacts (the base image's OCI layout, the buildkitd and buildctl binaries) are
// cached between runs under $HFPACK_E2E_CACHE, or the user cache directory's hfpack-e2e, keyed
// by their inputs; they are built from scratch when absent, under a file lock, and published by
// rename so a cache entry is never half-written.
//
// The stand-ins are Linux-only.
package harness
