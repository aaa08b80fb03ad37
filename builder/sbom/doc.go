// Package sbom describes the Python packages of a lock as a software bill of
// materials: a CycloneDX 1.5 JSON document, one library component per locked
// wheel, with its package URL, SHA-256 and download URL.
//
// The document is byte-deterministic: components are sorted, there is no
// timestamp unless the caller gives one (from SOURCE_DATE_EPOCH), and the
// serial number is a UUID derived from the rest of the document, so the same
// lock and image name give the same bytes, and the same SBOM digest, on any
// machine.
//
// The JSON types are written by hand (a handful of structs) rather than
// taken from github.com/CycloneDX/cyclonedx-go: hfpack writes a small,
// fixed subset of the format, and this keeps the field order and output
// under its own control without a new module.
package sbom
