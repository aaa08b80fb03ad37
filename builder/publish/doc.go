// Package publish sends a built image to an output: an OCI image layout
// directory, a docker-archive tarball (for `docker load`) or a registry.
//
// Local outputs are written beside their final path and renamed into place,
// so a failed or killed build leaves nothing at that path. Pushes skip blobs
// the registry already has, mount base layers from their source repository
// where the registry allows it, upload layers in parallel, retry temporary
// failures (429 and 5xx included) and report progress on a channel.
//
// Artifacts that refer to the image, such as its SBOM (NewReferrer), go
// with it: pushed by digest after the image, where registries list them
// through the OCI referrers API or the sha256-<hex> fallback tag, or
// written into the same OCI layout.
//
// Pushes authenticate with docker's config and credential helpers, then
// Google's keychain (Application Default Credentials, including Workload
// Identity Federation configs, then gcloud) for Artifact Registry and
// Container Registry, or with an OAuth2 token source (WithTokenSource).
// A refused push fails with ErrUnauthorized and says how to log in.
package publish
