package sidecar

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hfpack/hfpack/imagespec"
)

// ParseArgs builds the Config for a command line: the config file
// (--config, default DefaultConfigPath when it exists), then the AIP_*
// variables from getenv, then the flags given. Relative paths in flags are
// taken relative to the working directory. It returns flag.ErrHelp for -h.
func ParseArgs(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("hfpack-sidecar", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: hfpack-sidecar [flags]\n\nServes a model's handler under the Vertex AI custom-container contract.\nLocal run: hfpack-sidecar --model DIR [--handler FILE.py] [--port %d]\n\nFlags:\n", imagespec.DefaultPort)
		fs.PrintDefaults()
	}
	configPath := fs.String("config", "", "sidecar config JSON (default "+DefaultConfigPath+" when it exists)")
	set := newFlagBinder(fs)
	set.str("host", "address to listen on (default "+imagespec.DefaultHost+")", func(c *Config, v string) { c.Host = v })
	set.int("port", fmt.Sprintf("port to listen on (default %d, or $AIP_HTTP_PORT)", imagespec.DefaultPort), func(c *Config, v int) { c.Port = v })
	set.str("health-route", "extra health route (default $AIP_HEALTH_ROUTE)", func(c *Config, v string) { c.HealthRoute = v })
	set.str("predict-route", "extra predict route (default $AIP_PREDICT_ROUTE)", func(c *Config, v string) { c.PredictRoute = v })
	set.str("python", "Python interpreter for the worker (default "+imagespec.DefaultPython+")", func(c *Config, v string) { c.Python = v })
	set.path("worker-dir", "directory holding hfpack_worker.py (default: the embedded worker)", func(c *Config, v string) { c.WorkerDir = v })
	set.str("worker-cmd", "command that starts the worker, split on spaces (replaces --python and --worker-dir)", func(c *Config, v string) { c.WorkerCommand = strings.Fields(v) })
	set.path("model", "model directory (same as --model-dir)", func(c *Config, v string) { c.ModelDir = v })
	set.path("model-dir", "model directory", func(c *Config, v string) { c.ModelDir = v })
	set.path("handler", "handler module file (default: transformers pipeline)", func(c *Config, v string) { c.Handler = v })
	set.str("task", "pipeline task for the default handler", func(c *Config, v string) { c.Task = v })
	set.int("workers", "worker processes (default: one per GPU when --gpus > 1, else 1)", func(c *Config, v int) { c.Workers = v })
	set.int("gpus", "GPUs of the replica, split among the workers with CUDA_VISIBLE_DEVICES", func(c *Config, v int) { c.GPUs = v })
	set.int("max-batch-size", fmt.Sprintf("most instances per batch (default %d)", imagespec.DefaultMaxBatchSize), func(c *Config, v int) { c.MaxBatchSize = v })
	set.dur("max-batch-delay", fmt.Sprintf("longest wait for a batch to fill (default %s)", imagespec.DefaultMaxBatchDelay), func(c *Config, v time.Duration) { c.MaxBatchDelay = Duration(v) })
	set.int("max-queue", fmt.Sprintf("most instances waiting before 429 (default %d x max-batch-size)", imagespec.DefaultQueuePerBatch), func(c *Config, v int) { c.MaxQueue = v })
	set.dur("request-timeout", fmt.Sprintf("request deadline (default %gs)", imagespec.DefaultRequestTimeout.Seconds()), func(c *Config, v time.Duration) { c.RequestTimeout = Duration(v) })
	set.int("max-concurrent-streams", fmt.Sprintf("most generations running at once (default %d)", imagespec.DefaultMaxConcurrentStreams), func(c *Config, v int) { c.MaxConcurrentStreams = v })
	set.dur("stream-timeout", fmt.Sprintf("deadline of one generation (default %gm)", imagespec.DefaultStreamTimeout.Minutes()), func(c *Config, v time.Duration) { c.StreamTimeout = Duration(v) })
	set.int64("max-request-bytes", fmt.Sprintf("largest request body (default %d)", imagespec.DefaultMaxRequestBytes), func(c *Config, v int64) { c.MaxRequestBytes = v })
	set.int("metrics-port", "serve metrics on this port instead of the main one", func(c *Config, v int) { c.MetricsPort = v })
	set.str("metrics-path", "metrics route (default "+imagespec.DefaultMetricsPath+"; - disables)", func(c *Config, v string) { c.MetricsPath = v })
	set.dur("shutdown-grace", fmt.Sprintf("time to drain requests after SIGTERM (default %s)", imagespec.DefaultShutdownGrace), func(c *Config, v time.Duration) { c.ShutdownGrace = Duration(v) })
	set.dur("restart-backoff", fmt.Sprintf("first worker restart delay (default %s)", imagespec.DefaultRestartBackoff), func(c *Config, v time.Duration) { c.RestartBackoff = Duration(v) })
	set.dur("restart-backoff-max", fmt.Sprintf("longest worker restart delay (default %s)", imagespec.DefaultRestartBackoffMax), func(c *Config, v time.Duration) { c.RestartBackoffMax = Duration(v) })
	set.str("storage-uri", "gs:// URI to download the model from when model-dir is empty", func(c *Config, v string) { c.StorageURI = v })
	set.bool("debug", "debug logs and handler tracebacks in error responses", func(c *Config, v bool) { c.Debug = v })
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var cfg Config
	path := *configPath
	if path == "" {
		if _, err := os.Stat(DefaultConfigPath); err == nil {
			path = DefaultConfigPath
		}
	}
	if path != "" {
		c, err := LoadConfig(path)
		if err != nil {
			return Config{}, err
		}
		cfg = c
	}
	if err := cfg.ApplyEnv(getenv); err != nil {
		return Config{}, err
	}
	fs.Visit(func(f *flag.Flag) {
		if apply, ok := set.apply[f.Name]; ok {
			apply(&cfg)
		}
	})
	return cfg, set.err
}

// flagBinder records, per flag, how to copy its value into a Config, so
// that only flags actually given override the file and the environment.
type flagBinder struct {
	fs    *flag.FlagSet
	apply map[string]func(*Config)
	err   error
}

func newFlagBinder(fs *flag.FlagSet) *flagBinder {
	return &flagBinder{fs: fs, apply: map[string]func(*Config){}}
}

func (b *flagBinder) str(name, usage string, f func(*Config, string)) {
	v := b.fs.String(name, "", usage)
	b.apply[name] = func(c *Config) { f(c, *v) }
}

func (b *flagBinder) path(name, usage string, f func(*Config, string)) {
	v := b.fs.String(name, "", usage)
	b.apply[name] = func(c *Config) {
		p := *v
		if p != "" {
			abs, err := filepath.Abs(p)
			if err != nil {
				b.err = errors.Join(b.err, fmt.Errorf("--%s: %w", name, err))
			}
			p = abs
		}
		f(c, p)
	}
}

func (b *flagBinder) int(name, usage string, f func(*Config, int)) {
	v := b.fs.Int(name, 0, usage)
	b.apply[name] = func(c *Config) { f(c, *v) }
}

func (b *flagBinder) int64(name, usage string, f func(*Config, int64)) {
	v := b.fs.Int64(name, 0, usage)
	b.apply[name] = func(c *Config) { f(c, *v) }
}

func (b *flagBinder) dur(name, usage string, f func(*Config, time.Duration)) {
	v := b.fs.Duration(name, 0, usage)
	b.apply[name] = func(c *Config) { f(c, *v) }
}

func (b *flagBinder) bool(name, usage string, f func(*Config, bool)) {
	v := b.fs.Bool(name, false, usage)
	b.apply[name] = func(c *Config) { f(c, *v) }
}
