// Package pylock reads and writes PEP 751 lock files (pylock.toml) as
// hfpack produces them: one wheel per package, each with url, size,
// upload-time and sha256, plus a [tool.hfpack] table recording what the lock
// was resolved for.
//
// Marshal is byte-stable: packages are sorted by normalised name, every
// list is sorted and keys are written in the specification's order, so
// locking the same resolution twice gives identical bytes. The output
// keeps to the specification's key names so that installers such as
// `uv pip sync pylock.toml` accept it.
package pylock
