package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/protocol"
)

// Pool runs several workers, each under its own Supervisor, all taking
// batches from one Source: a free worker takes the next batch, so a batch
// waits only while every worker is busy. A worker that crashes fails only
// the batch it was running and is restarted alone; the others keep serving.
type Pool struct {
	sups  []*Supervisor
	state func(Status)
}

// NewPool returns a Pool of len(cfgs) workers (at least one). The State hook
// of cfgs[0] is called with the pool's Status whenever any worker's changes;
// every other hook is per worker.
func NewPool(cfgs []Config) *Pool {
	if len(cfgs) == 0 {
		panic("worker: NewPool needs at least one Config")
	}
	p := &Pool{state: cfgs[0].Hooks.State}
	for _, cfg := range cfgs {
		if p.state != nil {
			cfg.Hooks.State = func(Status) { p.state(p.Status()) }
		}
		p.sups = append(p.sups, New(cfg))
	}
	return p
}

// PinDevices splits the GPUs in devices among n workers for
// CUDA_VISIBLE_DEVICES: worker i gets devices[i*g/n : (i+1)*g/n] when n <= g,
// devices[i%g] when n > g. One worker, or no GPUs, pins nothing ("" for
// every worker): a single worker sees every GPU, as a model sharded with
// device_map needs.
func PinDevices(n int, devices []string) []string {
	out := make([]string, max(n, 1))
	g := len(devices)
	if n <= 1 || g == 0 {
		return out
	}
	for i := range out {
		if n > g {
			out[i] = devices[i%g]
			continue
		}
		out[i] = strings.Join(devices[i*g/n:(i+1)*g/n], ",")
	}
	return out
}

// DeviceList is the GPUs a replica has: the entries of visible (the
// sidecar's own CUDA_VISIBLE_DEVICES) when set, otherwise "0" to
// strconv.Itoa(count-1).
func DeviceList(count int, visible string) []string {
	if visible = strings.TrimSpace(visible); visible != "" {
		var out []string
		for _, d := range strings.Split(visible, ",") {
			if d = strings.TrimSpace(d); d != "" {
				out = append(out, d)
			}
		}
		return out
	}
	out := make([]string, 0, count)
	for i := range count {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

// Run runs every worker until ctx ends, then stops them and returns nil.
func (p *Pool) Run(ctx context.Context, src Source) error {
	var wg sync.WaitGroup
	for _, s := range p.sups {
		wg.Go(func() { s.Run(ctx, src) })
	}
	wg.Wait()
	return nil
}

// Size is the number of workers.
func (p *Pool) Size() int { return len(p.sups) }

// Status is the pool's health: ready only when every worker is ready. With
// several workers, Reason names each worker that is not ready and why,
// Restarts sums theirs, and Workers lists each worker's own status.
func (p *Pool) Status() Status {
	if len(p.sups) == 1 {
		return p.sups[0].Status()
	}
	all := make([]Status, len(p.sups))
	for i, s := range p.sups {
		all[i] = s.Status()
	}
	st := Status{State: StateReady, Workers: all}
	var waiting []string
	for _, w := range all {
		st.Restarts += w.Restarts
		if w.LastError != "" {
			st.LastError = fmt.Sprintf("worker %d: %s", w.Worker, w.LastError)
		}
		if st.Python == "" {
			st.Python = w.Python
		}
		if w.Ready() {
			continue
		}
		if st.State == StateReady || w.State == StateCrashLoop || w.State == StateStopped {
			st.State = w.State
		}
		name := "worker " + strconv.Itoa(w.Worker)
		if w.Devices != "" {
			name += " (CUDA_VISIBLE_DEVICES=" + w.Devices + ")"
		}
		waiting = append(waiting, fmt.Sprintf("%s %s: %s", name, w.State, w.Reason))
	}
	if len(waiting) > 0 {
		st.Reason = fmt.Sprintf("%d of %d workers not ready: %s", len(waiting), len(all), strings.Join(waiting, "; "))
	}
	return st
}

// Serving reports whether at least one worker is ready: requests are
// accepted then, although health reports 503 until every worker is.
func (p *Pool) Serving() bool {
	for _, s := range p.sups {
		if s.Status().Ready() {
			return true
		}
	}
	return false
}

// Stream starts a generation on the ready worker running the fewest. It
// fails with ErrNotReady when no worker is ready and ErrNoGenerate when the
// handler defines no generate().
func (p *Pool) Stream(params, instance json.RawMessage) (*protocol.Stream, error) {
	var best *Supervisor
	for _, s := range p.sups {
		if !s.CanGenerate() {
			continue
		}
		if best == nil || s.streams.Load() < best.streams.Load() {
			best = s
		}
	}
	if best == nil {
		if p.Serving() {
			return nil, ErrNoGenerate
		}
		return nil, ErrNotReady
	}
	return best.Stream(params, instance)
}

// CanGenerate reports whether a ready worker's handler defines generate().
func (p *Pool) CanGenerate() bool {
	for _, s := range p.sups {
		if s.CanGenerate() {
			return true
		}
	}
	return false
}

// SetModelDir changes the model directory for workers started from now on.
// Call it before Run.
func (p *Pool) SetModelDir(dir string) {
	for _, s := range p.sups {
		s.SetModelDir(dir)
	}
}
