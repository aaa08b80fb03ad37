package harness

import (
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// daemon is a background child process whose output is kept for failure messages.
type daemon struct {
	name   string
	cmd    *exec.Cmd
	out    tailBuffer
	exited chan struct{}
	err    error // from Wait, valid after exited is closed
}

// startDaemon starts cmd in its own process group, killed with the test process if that dies.
func startDaemon(name string, cmd *exec.Cmd) (*daemon, error) {
	d := &daemon{name: name, cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &d.out, &d.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		d.err = cmd.Wait()
		close(d.exited)
	}()
	return d, nil
}

// stop sends SIGTERM, waits up to grace for the exit, then kills the process group.
// It reports whether the process exited on SIGTERM alone.
func (d *daemon) stop(grace time.Duration) bool {
	select {
	case <-d.exited:
		return true
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		return true
	case <-time.After(grace):
	}
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	<-d.exited
	return false
}

// logOnFailure registers a cleanup that logs the daemon's output when the test failed.
func (d *daemon) logOnFailure(t testing.TB) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output:\n%s", d.name, d.out.tail(16<<10))
		}
	})
}
