package imagespec

// Where hfpack puts things in the images it builds.
const (
	// DefaultPath is where the builder writes the sidecar's Config.
	DefaultPath = "/opt/hfpack/sidecar.json"
	// WorkerDir holds the worker script and the user's handler; it is the
	// image's working directory.
	WorkerDir = "/opt/hfpack/worker"
	// ModelDir holds the model files.
	ModelDir = "/opt/hfpack/model"
	// SidecarPath is the sidecar binary, the image's entrypoint.
	SidecarPath = "/usr/local/bin/hfpack-sidecar"
	// User is the non-root user:group the image runs as.
	User = "1000:1000"
	// ExposedPort is DefaultPort as the image config's ExposedPorts names it.
	ExposedPort = "8080/tcp"
)
