// Package gcs downloads a Cloud Storage prefix (Vertex's AIP_STORAGE_URI) to
// a local directory through the GCS JSON API, authenticated with Application
// Default Credentials. Objects are listed page by page, streamed to
// temporary files, checked against their CRC32C and renamed into place, so a
// failed download never leaves a half-written file under its final name.
package gcs
