// Package gcs downloads a Cloud Storage prefix (Vertex's AIP_STORAGE_URI) to
// a local directory through the GCS JSON API, authenticated with Application
// Default Credentials. Objects are listed page by page and fetched in chunks
// over parallel connections with Range requests, pinned to the generation
// the listing saw. Each file is checked against its size and the CRC32C (or,
// without one, the MD5) GCS reports, as its bytes arrive; a mismatch is
// fetched once more, then refused. Partial files and their progress live in
// DIR/.hfpack-download until verified, so an interrupted download resumes
// where it stopped and a failed one never leaves a half-written file under
// its final name. Memory stays bounded: one buffer per connection.
package gcs
