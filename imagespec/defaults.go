package imagespec

import "time"

// The serving defaults: what Config.WithDefaults fills in, what the
// manifest's [serving] table defaults to and what the sidecar's batcher
// starts from. They are defined here once.
const (
	DefaultHost                 = "0.0.0.0"
	DefaultPort                 = 8080
	DefaultPython               = "python3"
	DefaultMaxBatchSize         = 8
	DefaultMaxBatchDelay        = 5 * time.Millisecond
	DefaultQueuePerBatch        = 64 // MaxQueue defaults to this many batches
	DefaultRequestTimeout       = 60 * time.Second
	DefaultMaxConcurrentStreams = 4
	DefaultStreamTimeout        = 10 * time.Minute
	DefaultMaxRequestBytes      = 1572864 // 1.5 MB: Vertex's shared public endpoint's limit
	DefaultMaxJSONDepth         = 64
	DefaultMetricsPath          = "/metrics"
	DefaultShutdownGrace        = 25 * time.Second
	DefaultRestartBackoff       = time.Second
	DefaultRestartBackoffMax    = 30 * time.Second
)

// MaxWorkers bounds [serving] workers: each worker is a process holding the
// model in memory.
const MaxWorkers = 64

// DefaultWorkers is [serving] workers' default for a replica with gpus
// GPUs: one per GPU when there are several, so that none sits idle for a
// model that fits on one; otherwise 1.
func DefaultWorkers(gpus int) int {
	if gpus > 1 {
		return gpus
	}
	return 1
}

// Routes the sidecar always serves, besides the AIP_* routes Vertex sets;
// the containerSpec hfpack prints names them, so Vertex's routes equal the
// ones users hit locally.
const (
	HealthRoute  = "/health"
	PredictRoute = "/predict"
)
