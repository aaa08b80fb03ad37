package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/batch"
	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/protocol"
)

// Source hands out batches; *batch.Batcher implements it.
type Source interface {
	Next(ctx context.Context) (*batch.Batch, error)
}

// Hooks observe the supervisor, for metrics. Any field may be nil.
type Hooks struct {
	Batch   func(size int, d time.Duration, err error) // after each batch
	Restart func()                                     // each time the worker is restarted
	State   func(Status)                               // on every status change
}

// Config describes the worker process and how it is supervised.
type Config struct {
	Command  []string // argv prefix; the supervisor appends --socket, --model-dir, ...
	Env      []string // extra environment, appended to the sidecar's own
	ModelDir string
	Handler  string // path of the handler module; empty for the default handler
	Task     string // pipeline task for the default handler
	Debug    bool   // worker sends tracebacks

	// Index and Devices identify the worker among several (see Pool); a
	// non-empty Devices is set as the process's CUDA_VISIBLE_DEVICES.
	Index   int
	Devices string

	BackoffMin     time.Duration // first restart delay (default 1s)
	BackoffMax     time.Duration // restart delay cap (default 30s)
	CrashLoopAfter int           // consecutive failures reported as a crash loop (default 3)
	StopGrace      time.Duration // time the worker gets to exit on shutdown (default 5s)

	Log   *slog.Logger
	Hooks Hooks
}

// Supervisor runs one worker process at a time.
type Supervisor struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	status Status
	conn   *protocol.Conn // the ready worker's connection, nil when none

	streams atomic.Int64 // generations running on this worker
}

// New returns a Supervisor; call Run to start the worker.
func New(cfg Config) *Supervisor {
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = time.Second
	}
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = max(30*time.Second, cfg.BackoffMin)
	}
	if cfg.CrashLoopAfter <= 0 {
		cfg.CrashLoopAfter = 3
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 5 * time.Second
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Index > 0 || cfg.Devices != "" {
		log = log.With("worker", cfg.Index)
	}
	return &Supervisor{cfg: cfg, log: log, status: Status{State: StateStarting, Reason: "worker starting", Worker: cfg.Index, Devices: cfg.Devices}}
}

// Status returns the current status.
func (s *Supervisor) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

func (s *Supervisor) update(f func(*Status)) {
	s.mu.Lock()
	f(&s.status)
	st := s.status
	s.mu.Unlock()
	if s.cfg.Hooks.State != nil {
		s.cfg.Hooks.State(st)
	}
}

func (s *Supervisor) setState(state State, reason string) {
	s.update(func(st *Status) { st.State, st.Reason = state, reason })
}

// Run starts the worker and keeps one running until ctx ends, feeding it
// batches from src. It then stops the worker and returns nil.
func (s *Supervisor) Run(ctx context.Context, src Source) error {
	backoff, failures := s.cfg.BackoffMin, 0
	for {
		readyFor, err := s.runOnce(ctx, src)
		if ctx.Err() != nil {
			s.setState(StateStopped, "shutting down")
			return nil
		}
		if readyFor > s.cfg.BackoffMax {
			backoff, failures = s.cfg.BackoffMin, 0
		}
		failures++
		state, level := StateRestarting, slog.LevelWarn
		reason := fmt.Sprintf("%v; restarting in %v", err, backoff)
		if failures >= s.cfg.CrashLoopAfter {
			state, level = StateCrashLoop, slog.LevelError
			reason = fmt.Sprintf("crash loop: %d consecutive failures, last: %v; restarting in %v", failures, err, backoff)
		}
		s.update(func(st *Status) {
			st.State, st.Reason, st.PID, st.LastError = state, reason, 0, err.Error()
			st.Restarts++
		})
		s.log.Log(ctx, level, "worker stopped", "error", err.Error(), "state", string(state), "consecutive_failures", failures, "backoff", backoff.String())
		if s.cfg.Hooks.Restart != nil {
			s.cfg.Hooks.Restart()
		}
		select {
		case <-ctx.Done():
			s.setState(StateStopped, "shutting down")
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, s.cfg.BackoffMax)
	}
}

// runOnce runs one worker process to its end and says how long it was ready.
func (s *Supervisor) runOnce(ctx context.Context, src Source) (time.Duration, error) {
	s.setState(StateStarting, "worker starting")
	p, err := s.start(ctx)
	if err != nil {
		return 0, err
	}
	defer p.cleanup()
	conn, err := p.connect(ctx)
	if err != nil {
		p.kill()
		return 0, err
	}
	defer conn.Close()
	hello, err := conn.Hello(ctx)
	if err != nil {
		err = p.exitErr(err)
		p.kill()
		return 0, err
	}
	s.update(func(st *Status) {
		st.State, st.Reason, st.PID, st.Python = StateLoading, "loading model", hello.PID, hello.Python
	})
	s.log.Info("worker loading model", "pid", hello.PID, "python", hello.Python)
	start := time.Now()
	stopLoad := context.AfterFunc(ctx, func() { conn.Close() })
	err = conn.WaitReady(ctx)
	stopLoad()
	var herr *protocol.HandlerError
	if errors.As(err, &herr) {
		s.log.Error("handler failed to load", "error", herr.Message, "traceback", herr.Traceback)
	}
	if err != nil {
		err = p.exitErr(err)
		p.kill()
		return 0, err
	}
	imp, load := conn.LoadTimes()
	s.log.Info("worker ready", "pid", hello.PID, "load_seconds", time.Since(start).Seconds(),
		"handler_import_seconds", imp, "handler_load_seconds", load, "generate", conn.CanGenerate())
	conn.Start()
	s.mu.Lock()
	s.conn = conn
	s.mu.Unlock()
	s.setState(StateReady, "")
	ready := time.Now()
	err = s.serve(ctx, p, conn, src)
	s.mu.Lock()
	s.conn = nil
	s.mu.Unlock()
	if ctx.Err() != nil {
		p.stop(conn, s.cfg.StopGrace)
		return time.Since(ready), ctx.Err()
	}
	p.kill()
	return time.Since(ready), err
}

// serve feeds batches to a ready worker until it fails or ctx ends.
func (s *Supervisor) serve(ctx context.Context, p *proc, conn *protocol.Conn, src Source) error {
	nctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.exited:
			cancel()
		case <-conn.Done():
			cancel()
		case <-nctx.Done():
		}
	}()
	for {
		bt, err := src.Next(nctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if p.hasExited() {
				return p.exitErr(errors.New("worker exited while idle"))
			}
			select {
			case <-conn.Done():
				if err := conn.Err(); !errors.Is(err, protocol.ErrClosed) {
					return err // aborted by the sidecar, or garbage from the worker
				}
				return p.exitErr(errors.New("worker closed its connection"))
			default:
			}
			return fmt.Errorf("waiting for a batch: %w", err)
		}
		if err := s.predict(ctx, p, conn, bt); err != nil {
			return err
		}
	}
}

// predict runs one batch. A handler error fails the batch but keeps the
// worker; any other error means the worker must go.
func (s *Supervisor) predict(ctx context.Context, p *proc, conn *protocol.Conn, bt *batch.Batch) error {
	bctx := ctx
	if dl, ok := bt.Deadline(); ok {
		var cancel context.CancelFunc
		bctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	start := time.Now()
	preds, err := conn.Predict(bctx, bt.Params, bt.Instances)
	d := time.Since(start)
	s.log.Debug("batch", "instances", len(bt.Instances), "requests", bt.Requests(), "seconds", d.Seconds(), "ok", err == nil)
	if s.cfg.Hooks.Batch != nil {
		s.cfg.Hooks.Batch(len(bt.Instances), d, err)
	}
	var herr *protocol.HandlerError
	switch {
	case err == nil:
		bt.Complete(preds)
		return nil
	case errors.As(err, &herr) && bt.Requests() > 1:
		return s.isolate(ctx, p, conn, bt)
	case errors.As(err, &herr):
		bt.Fail(herr)
		return nil
	case ctx.Err() != nil:
		bt.Fail(ctx.Err())
		return ctx.Err()
	case bctx.Err() != nil, errors.Is(err, context.DeadlineExceeded):
		bt.Fail(ErrHung)
		return fmt.Errorf("worker hung on a batch of %d past its deadline", len(bt.Instances))
	default:
		werr := p.exitErr(err)
		bt.Fail(fmt.Errorf("%w: %v", ErrCrashed, werr))
		return werr
	}
}

// isolate re-runs a batch that raised, one request at a time, so that only
// the request whose instances raise gets the error and its neighbours get
// their predictions. When a re-run kills the worker, the requests not yet
// re-run fail with it and the worker is restarted once.
func (s *Supervisor) isolate(ctx context.Context, p *proc, conn *protocol.Conn, bt *batch.Batch) error {
	s.log.Debug("batch raised; re-running its requests one by one", "requests", bt.Requests())
	subs := bt.Split()
	for i, sub := range subs {
		if err := s.predict(ctx, p, conn, sub); err != nil {
			for _, rest := range subs[i+1:] {
				rest.Fail(fmt.Errorf("%w: %v", ErrCrashed, err))
			}
			return err
		}
	}
	return nil
}

func (s *Supervisor) args(sock string) []string {
	args := append([]string{}, s.cfg.Command[1:]...)
	args = append(args, "--socket", sock, "--model-dir", s.cfg.ModelDir)
	if s.cfg.Handler != "" {
		args = append(args, "--handler", s.cfg.Handler)
	}
	if s.cfg.Task != "" {
		args = append(args, "--task", s.cfg.Task)
	}
	if s.cfg.Debug {
		args = append(args, "--debug")
	}
	return args
}

func (s *Supervisor) start(ctx context.Context) (*proc, error) {
	if len(s.cfg.Command) == 0 {
		return nil, errors.New("starting worker: no command")
	}
	p, err := listen()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.cfg.Command[0], s.args(p.sock)...)
	cmd.Env = append(append(os.Environ(), "PYTHONUNBUFFERED=1"), s.cfg.Env...)
	if s.cfg.Devices != "" {
		cmd.Env = append(cmd.Env, "CUDA_VISIBLE_DEVICES="+s.cfg.Devices)
	}
	cmd.Stdout = &lineLogger{log: s.log, level: slog.LevelInfo, stream: "stdout"}
	cmd.Stderr = &lineLogger{log: s.log, level: slog.LevelWarn, stream: "stderr"}
	cmd.WaitDelay = time.Second
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		p.cleanup()
		return nil, fmt.Errorf("starting worker %q: %w", s.cfg.Command[0], err)
	}
	p.cmd = cmd
	s.update(func(st *Status) { st.PID = cmd.Process.Pid })
	s.log.Info("worker started", "pid", cmd.Process.Pid)
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Stream starts a generation of instance on the ready worker. It fails with
// ErrNotReady when no worker is ready and ErrNoGenerate when the handler
// defines no generate().
func (s *Supervisor) Stream(params, instance json.RawMessage) (*protocol.Stream, error) {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	switch {
	case conn == nil:
		return nil, ErrNotReady
	case !conn.CanGenerate():
		return nil, ErrNoGenerate
	}
	st, err := conn.Stream(params, instance)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCrashed, err)
	}
	s.streams.Add(1)
	go func() {
		<-st.Ended()
		s.streams.Add(-1)
	}()
	return st, nil
}

// CanGenerate reports whether the ready worker's handler defines generate().
func (s *Supervisor) CanGenerate() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn != nil && s.conn.CanGenerate()
}

// SetModelDir changes the model directory for workers started from now on.
// Call it before Run.
func (s *Supervisor) SetModelDir(dir string) { s.cfg.ModelDir = dir }
