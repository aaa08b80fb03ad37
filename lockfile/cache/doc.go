// Package cache is hfpack's on-disk, content-addressed cache of index pages,
// core metadata and wheels.
//
// Blobs live at blobs/sha256/{hex} and are named by the sha256 of their
// content; keyed entries (a page URL, say) live at refs/{sha256(key)}.json
// and point at a blob together with HTTP validators. Every write goes to a
// temporary file in the same directory and is renamed into place, so two
// processes may share a cache; every read re-hashes the blob, and a
// corrupted entry is removed and reported as a miss so that it is fetched
// again.
//
// Each read records its use for a prune (Entries, gc.Prune): a keyed entry
// by its file's modification time, a blob read or written by its sha256
// (a wheel, PEP 658 metadata) by the time of a marker, used/{hex}, so that
// the blob's own times, by which readers remember it, never change. A
// blob a prune removed is a miss like any other, fetched again.
package cache
