package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/batch"
	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/gcs"
	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/worker"
	"github.com/hfpack/hfpack/templates"
)

// Option configures a Sidecar.
type Option func(*options)

type options struct {
	log   *slog.Logger
	gcs   []gcs.Option
	env   []string
	wait  time.Duration
	grace time.Duration // how long a cancelled generator may take to close
}

// WithGeneratorGrace sets how long a cancelled generation may take to
// close before the worker is restarted (default 30s).
func WithGeneratorGrace(d time.Duration) Option { return func(o *options) { o.grace = d } }

// WithLogger sets the logger (default: Cloud Logging JSON lines on stderr).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithGCSOptions configures the AIP_STORAGE_URI download (endpoint, HTTP client).
func WithGCSOptions(opts ...gcs.Option) Option {
	return func(o *options) { o.gcs = append(o.gcs, opts...) }
}

// WithWorkerEnv adds environment variables ("K=V") for the worker process.
func WithWorkerEnv(env ...string) Option {
	return func(o *options) { o.env = append(o.env, env...) }
}

// Sidecar serves the prediction contract in front of a pool of supervised
// workers (Config.Workers of them).
type Sidecar struct {
	cfg     Config
	log     *slog.Logger
	opts    options
	batcher *batch.Batcher
	streams *streamSlots
	sup     *worker.Pool
	metrics *metrics
	mux     http.Handler

	draining  atomic.Bool
	mu        sync.Mutex
	modelNote string        // health reason while the model is being fetched
	download  *gcs.Progress // the running AIP_STORAGE_URI download, if any
	cleanup   []func()
}

// New checks cfg, fills in defaults and returns a Sidecar ready to Serve.
func New(cfg Config, opts ...Option) (*Sidecar, error) {
	o := options{grace: 30 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sidecar config: %w", err)
	}
	if o.log == nil {
		o.log = NewLogger(os.Stderr, cfg.Debug)
	}
	s := &Sidecar{cfg: cfg, log: o.log, opts: o}
	s.batcher = batch.New(batch.WithMaxSize(cfg.MaxBatchSize), batch.WithMaxDelay(cfg.MaxBatchDelay.D()), batch.WithMaxQueue(cfg.MaxQueue))
	s.streams = newStreamSlots(cfg.MaxConcurrentStreams*cfg.Workers, cfg.MaxQueue)
	s.metrics = newMetrics(cfg.MaxBatchSize, func() float64 { return float64(s.batcher.QueueDepth()) },
		func() float64 { return float64(s.streams.waiting.Load()) })
	cmd, err := s.workerCommand()
	if err != nil {
		return nil, err
	}
	pins := worker.PinDevices(cfg.Workers, worker.DeviceList(cfg.GPUs, os.Getenv("CUDA_VISIBLE_DEVICES")))
	cfgs := make([]worker.Config, cfg.Workers)
	for i := range cfgs {
		cfgs[i] = worker.Config{
			Command:    cmd,
			Env:        o.env,
			ModelDir:   cfg.ModelDir,
			Handler:    s.handlerPath(),
			Task:       cfg.Task,
			Debug:      cfg.Debug,
			Index:      i,
			Devices:    pins[i],
			BackoffMin: cfg.RestartBackoff.D(),
			BackoffMax: cfg.RestartBackoffMax.D(),
			Log:        s.log,
			Hooks:      s.metrics.hooks(),
		}
	}
	s.sup = worker.NewPool(cfgs)
	s.mux = s.routes()
	return s, nil
}

// workerCommand returns the worker's argv prefix, writing the embedded worker
// to a temporary directory when no worker directory is configured.
func (s *Sidecar) workerCommand() ([]string, error) {
	if len(s.cfg.WorkerCommand) > 0 {
		return s.cfg.WorkerCommand, nil
	}
	dir := s.cfg.WorkerDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "hfpack-worker-files-")
		if err != nil {
			return nil, fmt.Errorf("writing embedded worker: %w", err)
		}
		if err := os.CopyFS(tmp, templates.Worker); err != nil {
			os.RemoveAll(tmp)
			return nil, fmt.Errorf("writing embedded worker: %w", err)
		}
		s.cleanup = append(s.cleanup, func() { os.RemoveAll(tmp) })
		dir = tmp
	}
	return []string{s.cfg.Python, filepath.Join(dir, templates.WorkerScript)}, nil
}

func (s *Sidecar) handlerPath() string {
	h := s.cfg.Handler
	if h == "" || filepath.IsAbs(h) || s.cfg.WorkerDir == "" {
		return h
	}
	return filepath.Join(s.cfg.WorkerDir, h)
}

// Handler returns the HTTP handler with every route.
func (s *Sidecar) Handler() http.Handler { return s.mux }

// Serve serves HTTP on ln and runs the worker until ctx ends; it then stops
// accepting connections, lets in-flight requests finish within the shutdown
// grace period, stops the worker and returns nil.
func (s *Sidecar) Serve(ctx context.Context, ln net.Listener) error {
	defer s.close()
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       max(s.cfg.RequestTimeout.D(), 10*time.Second),
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	servers := []*http.Server{srv}
	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	if s.cfg.MetricsPort > 0 && s.cfg.MetricsPath != "-" {
		msrv, mln, err := s.metricsServer()
		if err != nil {
			srv.Close()
			return err
		}
		servers = append(servers, msrv)
		go func() { serveErr <- msrv.Serve(mln) }()
	}
	s.log.Info("sidecar listening", "address", ln.Addr().String(), "predict_route", s.cfg.PredictRoute, "health_route", s.cfg.HealthRoute)

	wctx, stopWorker := context.WithCancel(context.Background())
	defer stopWorker()
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		if s.prepareModel(wctx) {
			s.sup.Run(wctx, s.batcher)
		}
	}()

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("serving HTTP: %w", err)
	}
	s.drain(servers)
	stopWorker()
	<-workerDone
	s.batcher.Close()
	s.log.Info("sidecar stopped")
	return err
}

// metricsServer listens on the metrics port of its own.
func (s *Sidecar) metricsServer() (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.MetricsPort)))
	if err != nil {
		return nil, nil, fmt.Errorf("listening for metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(s.cfg.MetricsPath, s.metrics.handler())
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln, nil
}

// drain stops accepting requests and waits for in-flight ones.
func (s *Sidecar) drain(servers []*http.Server) {
	s.draining.Store(true)
	s.log.Info("draining in-flight requests", "grace", s.cfg.ShutdownGrace.D().String())
	gctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace.D())
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(gctx); err != nil {
			s.log.Warn("shutdown grace period passed; closing remaining connections", "error", err.Error())
			srv.Close()
		}
	}
}

func (s *Sidecar) close() {
	for _, f := range s.cleanup {
		f()
	}
}

// prepareModel downloads the model when the config asks for it, retrying
// with backoff; it reports false when ctx ended first.
func (s *Sidecar) prepareModel(ctx context.Context) bool {
	if s.cfg.StorageURI == "" || !dirEmpty(s.cfg.ModelDir) && !downloadStarted(s.cfg.ModelDir) {
		return true
	}
	if err := os.MkdirAll(s.cfg.ModelDir, 0o755); s.cfg.ModelDir == "" || err != nil {
		if err != nil {
			s.log.Warn("model directory not writable; downloading to a temporary directory", "model_dir", s.cfg.ModelDir, "error", err.Error())
		}
		dir, err := os.MkdirTemp("", "hfpack-model-")
		if err == nil {
			s.cleanup = append(s.cleanup, func() { os.RemoveAll(dir) })
		}
		s.cfg.ModelDir = dir
		s.sup.SetModelDir(dir)
	}
	backoff := s.cfg.RestartBackoff.D()
	for {
		prog := &gcs.Progress{}
		s.setModelNote("downloading model from " + s.cfg.StorageURI)
		s.mu.Lock()
		s.download = prog
		s.mu.Unlock()
		s.log.Info("downloading model", "storage_uri", s.cfg.StorageURI, "model_dir", s.cfg.ModelDir)
		start := time.Now()
		stop := s.logProgress(prog)
		n, err := gcs.Download(ctx, s.cfg.StorageURI, s.cfg.ModelDir, append(s.opts.gcs, gcs.WithProgress(prog))...)
		stop()
		s.mu.Lock()
		s.download = nil
		s.mu.Unlock()
		if err == nil {
			p := prog.Snapshot()
			s.log.Info("model downloaded", "files", n, "bytes", p.Bytes, "seconds", time.Since(start).Seconds(), "bytes_per_second", p.BytesPerSec)
			s.setModelNote("")
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		s.setModelNote(fmt.Sprintf("downloading model from %s: %v; retrying in %v", s.cfg.StorageURI, err, backoff))
		s.log.Error("model download failed", "storage_uri", s.cfg.StorageURI, "error", err.Error(), "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, s.cfg.RestartBackoffMax.D())
	}
}

// progressEvery is how often a running download logs its progress.
const progressEvery = 5 * time.Second

// logProgress logs p every progressEvery until the returned stop is called.
func (s *Sidecar) logProgress(p *gcs.Progress) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				st := p.Snapshot()
				s.log.Info("downloading model: "+st.String(), "storage_uri", s.cfg.StorageURI,
					"bytes_done", st.BytesDone, "bytes", st.Bytes, "files_done", st.FilesDone, "files", st.Files, "bytes_per_second", st.BytesPerSec)
			}
		}
	}()
	return func() { close(done) }
}

// downloadStarted reports whether dir holds an interrupted download to resume.
func downloadStarted(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, gcs.StageDir))
	return err == nil && fi.IsDir()
}

func (s *Sidecar) setModelNote(n string) {
	s.mu.Lock()
	s.modelNote = n
	s.mu.Unlock()
}

// status is the health of the sidecar as a whole: ready when every worker is.
func (s *Sidecar) status() worker.Status {
	st := s.sup.Status()
	s.mu.Lock()
	note := s.modelNote
	if s.download != nil {
		note += ": " + s.download.Snapshot().String()
	}
	s.mu.Unlock()
	switch {
	case s.draining.Load():
		st.State, st.Reason = worker.StateStopped, "shutting down"
	case note != "":
		st.State, st.Reason = worker.StateStarting, note
	}
	return st
}

// serving returns the status and whether requests are accepted: while at
// least one worker is ready, even when health reports 503 because another
// is loading or restarting.
func (s *Sidecar) serving() (worker.Status, bool) {
	st := s.status()
	if st.Ready() {
		return st, true
	}
	s.mu.Lock()
	note := s.modelNote
	s.mu.Unlock()
	return st, note == "" && !s.draining.Load() && s.sup.Serving()
}

// dirEmpty reports whether dir is missing or holds no entries.
func dirEmpty(dir string) bool {
	if dir == "" {
		return true
	}
	f, err := os.Open(dir)
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	defer f.Close()
	names, _ := f.Readdirnames(1)
	return len(names) == 0
}
