// Package cache is hfpack's content-addressed build cache on local disk.
//
// Layers are keyed by the hash of their inputs (computed by the Plan): a hit
// returns the stored layer blob without reading any input. Model files are
// hashed once and remembered by path, size and modification time. Every
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
//	                     sizes and modification times
//	files/<hex>.json     sha256(absolute path) -> size, mtime, sha256
//
// Temporary files (".tmp-*") older than a day are removed by Open.
package cache
