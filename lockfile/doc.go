// Package lockfile resolves an hfpack manifest's Python requirements into a
// PEP 751 pylock.toml for the image's target environment.
//
// Lock ties the sub-packages together: the manifest's indexes become one
// index.Source with the first-index strategy (index.NewMulti), a Provider
// groups each project's files by version and picks the wheel the target
// would install (or says why none fits: sdist only, no compatible tag,
// yanked, requires-python), the resolver chooses versions for the target's
// marker environment while keeping an earlier lock's versions where they
// still satisfy, and the result is written as one wheel per package with
// url, sha256, size, upload-time and index, plus a [tool.hfpack] table
// recording what it was resolved for and the model files' hashes.
//
// The lock depends only on its inputs: locking twice gives identical bytes.
package lockfile
