// Package llb lowers a builder.Plan to a BuildKit LLB graph whose bytes are
// the same on every run and every machine, and solves it on a BuildKit
// daemon.
//
// The graph is a Merge of the base image (by digest, linux/amd64) and one
// input per Plan layer, each built on scratch so that it exports as exactly
// one layer, as the embedded builder writes it:
//
//   - a site-packages layer is an ExecOp with no network that runs hfpack's
//     own wheel installer (package install) from a static hfpack binary
//     mounted read-only; the wheels are llb.HTTP sources pinned by sha256,
//     so a remote daemon downloads them itself;
//   - model, app and sidecar layers copy files from the client's
//     content-addressed local source (LocalFiles, every file named by its
//     sha256) with fixed modes and owners, then copy that tree once more
//     with every time set to SOURCE_DATE_EPOCH, directories last.
//
// Every entry of every hfpack layer thus carries SOURCE_DATE_EPOCH, so the
// export needs no rewrite-timestamp (which would recompress every layer at
// every export, even a no-op one): the image digest is the same after a
// prune and on another daemon without it.
//
// Lower and Marshal give the canonical bytes (`hfpack build --emit-llb`);
// Solve runs a build through the BuildKit client. Backend is the
// builder.Backend on top of Solve: the daemon exports each image into a
// Store, a content-addressed blob directory on the client that receives
// only the blobs it lacks, and the image is read back from there. When the
// build's only destination is a registry (`hfpack build --push` alone),
// WithDaemonPush has the daemon push the image there by digest instead, so
// that its layers leave the daemon once, not through the client's session
// and again from the client; the caller's publish then only moves the tag.
package llb
