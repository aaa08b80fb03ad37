package imagespec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// Config is everything the sidecar needs to know. The builder writes it as
// JSON (kebab-case keys, durations as strings such as "5ms") to
// DefaultPath; command-line flags override it, and the AIP_* variables
// Vertex sets override port, routes and storage URI. Zero values mean the
// documented default.
type Config struct {
	// Host and Port to listen on (default "0.0.0.0" and 8080; AIP_HTTP_PORT overrides Port).
	Host string `json:"host,omitempty"`
	Port int    `json:"port,omitempty"`
	// HealthRoute and PredictRoute are served besides /health and /predict
	// (AIP_HEALTH_ROUTE and AIP_PREDICT_ROUTE override them).
	HealthRoute  string `json:"health-route,omitempty"`
	PredictRoute string `json:"predict-route,omitempty"`

	// Python is the interpreter that runs the worker (default "python3").
	Python string `json:"python,omitempty"`
	// WorkerDir holds hfpack_worker.py (in images /opt/hfpack/worker). When
	// empty and WorkerCommand is empty, the sidecar writes its embedded copy
	// of the worker to a temporary directory (local runs).
	WorkerDir string `json:"worker-dir,omitempty"`
	// WorkerCommand replaces [Python, WorkerDir/hfpack_worker.py]; the sidecar
	// appends --socket, --model-dir, --handler, --task and --debug.
	WorkerCommand []string `json:"worker-command,omitempty"`
	// ModelDir holds the model files (in images /opt/hfpack/model).
	ModelDir string `json:"model-dir,omitempty"`
	// Handler is the handler module file; a relative path is taken relative
	// to WorkerDir. Empty serves the model with a transformers pipeline.
	Handler string `json:"handler,omitempty"`
	// Task is the transformers pipeline task for the default handler.
	Task string `json:"task,omitempty"`

	// Workers is how many worker processes serve, each loading the handler
	// and taking batches and generations as it becomes free (default 1).
	// With several workers and GPUs, each is pinned with
	// CUDA_VISIBLE_DEVICES to its share of them; one worker sees every GPU
	// (a model sharded with device_map).
	Workers int `json:"workers,omitempty"`
	// GPUs is how many GPUs the replica has ([accelerator] count; 0 on
	// CPU). The sidecar's own CUDA_VISIBLE_DEVICES, when set, names them.
	GPUs int `json:"gpus,omitempty"`

	// MaxBatchSize is the most instances sent to the handler at once (default 8).
	MaxBatchSize int `json:"max-batch-size,omitempty"`
	// MaxBatchDelay is how long the oldest queued instance waits for others (default 5ms).
	MaxBatchDelay Duration `json:"max-batch-delay,omitempty"`
	// MaxQueue is how many instances may wait for the worker before requests
	// are refused with 429 (default 64 × MaxBatchSize).
	MaxQueue int `json:"max-queue,omitempty"`
	// RequestTimeout bounds a request from arrival to answer; past it the
	// client gets 504 and a worker still busy with it is restarted (default 60s).
	RequestTimeout Duration `json:"request-timeout,omitempty"`
	// MaxConcurrentStreams is how many generations (streamed or chat
	// answers) run at once in the worker; more wait in the queue, bounded by
	// MaxQueue, then get 429 (default 4).
	MaxConcurrentStreams int `json:"max-concurrent-streams,omitempty"`
	// StreamTimeout bounds one generation from arrival to its last piece;
	// past it the generator is closed and the client gets an error (default 10m).
	StreamTimeout Duration `json:"stream-timeout,omitempty"`
	// MaxRequestBytes bounds request bodies (default 1572864, 1.5 MiB).
	MaxRequestBytes int64 `json:"max-request-bytes,omitempty"`
	// MaxJSONDepth bounds the nesting of request bodies (default 64).
	MaxJSONDepth int `json:"max-json-depth,omitempty"`

	// MetricsPort, when set, serves metrics on a port of its own; otherwise
	// they are served on the main port at MetricsPath.
	MetricsPort int `json:"metrics-port,omitempty"`
	// MetricsPath is the metrics route (default "/metrics"; "-" disables metrics).
	MetricsPath string `json:"metrics-path,omitempty"`

	// ShutdownGrace is how long in-flight requests may take to finish after SIGTERM (default 25s).
	ShutdownGrace Duration `json:"shutdown-grace,omitempty"`
	// RestartBackoff and RestartBackoffMax bound the delay before restarting
	// a dead worker, doubling per consecutive failure (defaults 1s and 30s).
	RestartBackoff    Duration `json:"restart-backoff,omitempty"`
	RestartBackoffMax Duration `json:"restart-backoff-max,omitempty"`

	// StorageURI is a gs:// prefix to download the model from when ModelDir
	// is missing or empty (AIP_STORAGE_URI overrides it).
	StorageURI string `json:"storage-uri,omitempty"`

	// Debug logs at debug level and returns handler tracebacks to clients.
	Debug bool `json:"debug,omitempty"`
}

// Duration is a time.Duration written in JSON as a string such as "250ms".
type Duration time.Duration

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string such as "5ms" or "1m30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"5ms\": %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Load reads a Config from a JSON file. Unknown keys are an error.
func Load(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("reading sidecar config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("parsing sidecar config %s: %w", path, err)
	}
	return c, nil
}

// ApplyEnv overrides c with the AIP_* variables Vertex sets.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	if p := getenv("AIP_HTTP_PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("AIP_HTTP_PORT=%q is not a port number", p)
		}
		c.Port = n
	}
	if r := getenv("AIP_HEALTH_ROUTE"); r != "" {
		c.HealthRoute = r
	}
	if r := getenv("AIP_PREDICT_ROUTE"); r != "" {
		c.PredictRoute = r
	}
	if u := getenv("AIP_STORAGE_URI"); u != "" {
		c.StorageURI = u
	}
	return nil
}

// WithDefaults returns c with every zero value replaced by its default.
func (c Config) WithDefaults() Config {
	def := func(d *Duration, v time.Duration) {
		if *d == 0 {
			*d = Duration(v)
		}
	}
	if c.Host == "" {
		c.Host = DefaultHost
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.Python == "" {
		c.Python = DefaultPython
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers(c.GPUs)
	}
	if c.MaxBatchSize == 0 {
		c.MaxBatchSize = DefaultMaxBatchSize
	}
	def(&c.MaxBatchDelay, DefaultMaxBatchDelay)
	if c.MaxQueue == 0 {
		c.MaxQueue = DefaultQueuePerBatch * c.MaxBatchSize
	}
	def(&c.RequestTimeout, DefaultRequestTimeout)
	if c.MaxConcurrentStreams == 0 {
		c.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	def(&c.StreamTimeout, DefaultStreamTimeout)
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.MaxJSONDepth == 0 {
		c.MaxJSONDepth = DefaultMaxJSONDepth
	}
	if c.MetricsPath == "" {
		c.MetricsPath = DefaultMetricsPath
	}
	def(&c.ShutdownGrace, DefaultShutdownGrace)
	def(&c.RestartBackoff, DefaultRestartBackoff)
	def(&c.RestartBackoffMax, DefaultRestartBackoffMax)
	return c
}

// Validate rejects values no default can fix; call it on WithDefaults' result.
func (c Config) Validate() error {
	var errs []error
	if c.Workers < 1 || c.Workers > MaxWorkers {
		errs = append(errs, fmt.Errorf("workers %d is out of range: use 1 to %d", c.Workers, MaxWorkers))
	}
	if c.GPUs < 0 {
		errs = append(errs, fmt.Errorf("gpus %d must not be negative", c.GPUs))
	}
	if c.MaxBatchSize < 1 {
		errs = append(errs, fmt.Errorf("max-batch-size %d must be at least 1", c.MaxBatchSize))
	}
	if c.MaxQueue < c.MaxBatchSize {
		errs = append(errs, fmt.Errorf("max-queue %d must be at least max-batch-size %d", c.MaxQueue, c.MaxBatchSize))
	}
	if c.MaxConcurrentStreams < 1 {
		errs = append(errs, fmt.Errorf("max-concurrent-streams %d must be at least 1", c.MaxConcurrentStreams))
	}
	if c.MaxRequestBytes < 0 || c.MaxJSONDepth < 0 || c.MaxBatchDelay < 0 || c.RequestTimeout < 0 || c.StreamTimeout < 0 {
		errs = append(errs, errors.New("limits and durations must not be negative"))
	}
	if c.ModelDir == "" && c.StorageURI == "" {
		errs = append(errs, errors.New("no model: set model-dir (--model) or AIP_STORAGE_URI"))
	}
	for _, r := range []string{c.HealthRoute, c.PredictRoute} {
		if r != "" && r[0] != '/' {
			errs = append(errs, fmt.Errorf("route %q must start with /", r))
		}
	}
	return errors.Join(errs...)
}
