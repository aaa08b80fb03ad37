package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/protocol"
)

// proc is one worker process and the socket it connects to.
type proc struct {
	dir     string
	sock    string
	ln      *net.UnixListener
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has been waited for
	waitErr error         // set before exited is closed
}

func listen() (*proc, error) {
	// os.TempDir keeps the path short: Unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "hfpack-worker-")
	if err != nil {
		return nil, fmt.Errorf("creating worker socket directory: %w", err)
	}
	sock := filepath.Join(dir, "worker.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("listening for the worker: %w", err)
	}
	return &proc{dir: dir, sock: sock, ln: ln, exited: make(chan struct{})}, nil
}

// connect waits for the worker to connect, to exit, or for ctx to end.
func (p *proc) connect(ctx context.Context) (*protocol.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := p.ln.Accept()
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		p.ln.Close()
		if r.err != nil {
			return nil, fmt.Errorf("accepting worker connection: %w", r.err)
		}
		return protocol.NewConn(r.c), nil
	case <-p.exited:
		p.ln.Close()
		return nil, p.exitErr(errors.New("worker exited before connecting"))
	case <-ctx.Done():
		p.ln.Close()
		return nil, ctx.Err()
	}
}

func (p *proc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// exitErr waits briefly for the process to exit and adds its exit status to
// err. A load error from the handler is returned unchanged.
func (p *proc) exitErr(err error) error {
	var herr *protocol.HandlerError
	if errors.As(err, &herr) {
		return err
	}
	select {
	case <-p.exited:
		if p.waitErr != nil {
			return fmt.Errorf("worker exited: %v", p.waitErr)
		}
		return errors.New("worker exited: exit status 0")
	case <-time.After(500 * time.Millisecond):
		return err
	}
}

// kill kills the process and waits for it.
func (p *proc) kill() {
	if p.cmd == nil {
		return
	}
	killGroup(p.cmd)
	<-p.exited
}

// stop asks the worker to exit; after grace it sends SIGTERM, and a second
// later SIGKILL.
func (p *proc) stop(conn *protocol.Conn, grace time.Duration) {
	conn.Shutdown()
	select {
	case <-p.exited:
		return
	case <-time.After(grace):
	}
	terminate(p.cmd)
	select {
	case <-p.exited:
	case <-time.After(time.Second):
		p.kill()
	}
}

func (p *proc) cleanup() {
	p.ln.Close()
	os.RemoveAll(p.dir)
}
