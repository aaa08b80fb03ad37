// Package publish sends a built image to an output: an OCI image layout
// directory, a docker-archive tarball (for `docker load`) or a registry.
//
// Local outputs are written beside their final path and renamed into place,
// so a failed or killed build leaves nothing at that path. Pushes skip blobs
// the registry already has, mount base layers from their source repository
// where the registry allows it, upload layers in parallel, retry temporary
// failures (429 and 5xx included) and report progress on a channel.
package publish
