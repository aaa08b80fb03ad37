// Package smoke runs a built serving image on this machine the way Vertex AI runs it, and probes
// the custom-container contract: the image is copied into an OCI layout with skopeo, unpacked
// with umoci and run with runc as its configured user, with AIP_HTTP_PORT, AIP_HEALTH_ROUTE and
// AIP_PREDICT_ROUTE set to values Vertex might choose; then the health route must answer 503
// while the model loads and 200 once it is ready, the predict route must answer a Vertex request
// with one prediction per instance, and SIGTERM must stop the server with exit status 0.
//
// It needs root (runc) and the runc, skopeo and umoci executables; Tools reports what is missing
// and how to install it.
package smoke
