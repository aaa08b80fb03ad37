// Package cache is hfpack's content-addressed build cache on local disk.
//
// Layers are keyed by the hash of their inputs (computed by the Plan): a hit
// returns the stored layer blob without reading any input. Model files are
// hashed once and remembered by path, size, modification time, inode and
// change time. Every
// write goes to a temporary file that is renamed into place, and a key is
// recorded only after its blob is complete, so a crash or a concurrent build
// never leaves an entry that points at a partial blob.
//
// Layout under the cache directory:
//
//	blobs/sha256/<hex>   layer blobs, named by digest
//	layers/<key>.json    input key -> layer.Descriptor of a stored blob
//	refs/<key>.json      input key -> layer.Descriptor of a layer regenerated
//	                     from local files (uncompressed weights), with their
//	                     sizes, modification times, inodes and change times
//	files/<hex>.json     sha256(absolute path) -> size, mtime, inode, ctime,
//	                     sha256
//	basefiles/<hex>.json a base image layer's file list, by its digest
//	lock                 held shared by each open Cache, alone by Lock
//	gate                 held alone by a waiting Lock; Open passes it first
//
// Open removes the layer blobs (".tmp-layer-*") that killed builds left
// half-written, as soon as no process holds them, and other temporary
// files (".tmp-*") older than a day.
//
// A hit records its use in the entry file's modification time. Entries
// describes the cache for internal/gc, and Lock keeps builds out while gc
// removes, least recently used first, what its policy does not keep: an
// entry, then each blob no kept entry names.
package cache
