package worker_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/batch"
	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/worker"
)

// waitState polls until the supervisor reaches state (limit 20s).
func waitState(t *testing.T, s *worker.Supervisor, state worker.State) worker.Status {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := s.Status()
		if st.State == state {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("status = %+v, waited for %s", st, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func run(t *testing.T, cfg worker.Config) (*worker.Supervisor, *[]worker.Status) {
	t.Helper()
	var mu sync.Mutex
	var seen []worker.Status
	cfg.Hooks.State = func(s worker.Status) { mu.Lock(); seen = append(seen, s); mu.Unlock() }
	cfg.BackoffMin, cfg.BackoffMax = time.Millisecond, 5*time.Millisecond
	s := worker.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, batch.New()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
		if st := s.Status(); st.State != worker.StateStopped {
			t.Errorf("status after Run = %+v, want stopped", st)
		}
	})
	return s, &seen
}

func TestWorkerThatCannotStartIsACrashLoop(t *testing.T) {
	s, _ := run(t, worker.Config{Command: []string{"/nonexistent/python3"}, CrashLoopAfter: 2})
	st := waitState(t, s, worker.StateCrashLoop)
	if !strings.Contains(st.Reason, "/nonexistent/python3") || st.Ready() {
		t.Errorf("status = %+v, want a crash loop naming the command", st)
	}
}

func TestWorkerExitingBeforeConnectReportsExitStatus(t *testing.T) {
	s, _ := run(t, worker.Config{Command: []string{"sh", "-c", "exit 4", "sh"}})
	st := waitState(t, s, worker.StateCrashLoop)
	if !strings.Contains(st.Reason, "exit status 4") || st.Restarts < 3 {
		t.Errorf("status = %+v, want exit status 4 after 3 restarts", st)
	}
}
