// Command bench measures the embedded builder (`make bench-build`).
//
// It writes a fixture of wheel-like data (compressible, Python-source-like
// text, installed as many files) and bf16-like weights (random normal values
// in bfloat16, barely compressible) under a temporary directory, then reports
// in one run:
//
//   - the cold build time against a lower bound measured in the same run
//     (one sha256 pass over the new bytes plus the chosen compression of the
//     code bytes, spread over all cores),
//   - the no-op rebuild time,
//   - the handler-only rebuild time,
//   - the peak resident set size of the process.
//
// Usage: go run ./builder/bench -size 1GiB
package main
