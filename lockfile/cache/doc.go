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
package cache
