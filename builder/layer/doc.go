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
//
// A file that comes already compressed, as a wheel's members do
// (tree.Entry.Deflated), is not compressed again in a gzip layer: its
// DEFLATE stream goes into the blob as it is, in a gzip member of its own
// (RFC 1952 allows any number; every gzip reader, compress/gzip, containerd,
// pigz and Python's included, reads them as one stream), between members
// of level-1 output holding the tar headers and the other files. The
// stream is still inflated once, for the diffID and to check the file
// against its recorded size, CRC-32 and (when set) sha256, but never
// deflated: that halves the CPU time of a wheel's bytes, and the wheel's
// own compression (zlib level 6 for most) is about a tenth smaller than
// level 1 on real site-packages. Small files are read, inflated and
// checked ahead on one goroutine per core.
package layer
