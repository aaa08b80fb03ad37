// Package layer writes one reproducible image layer from a tree.Tree in a
// single streaming pass and serves it as a go-containerregistry v1.Layer.
//
// The tar stream is hashed (the diffID), compressed, hashed again (the
// digest) and written to a temporary file in the same pass; the file is then
// renamed into place under its digest. Entries are written in the tree's
// sorted order with a fixed modification time (UTC), uid and gid 0, no user or
// group names, no access or change times and normalised permissions, so the
// same tree gives the same bytes on any machine, in any timezone, under any
// umask.
//
// Compression is chosen per layer. Digests depend on the compressor's exact
// output, so the codecs are fixed: gzip is klauspost/compress gzip at level 1
// (BestSpeed; about 1.8x the speed of the standard library on Python sources
// for the same ratio, see facts/reproducibility.md), zstd is klauspost/compress
// zstd at SpeedFastest with one encoder goroutine, and none writes the tar as
// it is (weights barely compress).
package layer
