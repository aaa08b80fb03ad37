package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// CopyToLayout copies the image at ref (e.g. "127.0.0.1:5000/repo@sha256:...") from a plain-HTTP
// registry into a new OCI layout with skopeo, and returns the layout directory and the tag to
// pass to Unpack.
func CopyToLayout(t testing.TB, ref string) (dir, tag string) {
	t.Helper()
	skopeo := LookPath(t, "skopeo", "skopeo")
	dir, tag = filepath.Join(t.TempDir(), "layout"), "image"
	_, err := runLogged(t.Context(), skopeo, "copy", "--quiet", "--src-tls-verify=false",
		"docker://"+ref, "oci:"+dir+":"+tag)
	if err != nil {
		t.Fatalf("copying %s to an OCI layout: %v", ref, err)
	}
	return dir, tag
}

// Bundle is an OCI runtime bundle: a rootfs and the config.json that runc reads.
type Bundle struct {
	// Dir is the bundle directory.
	Dir string
	// Spec is the runtime config umoci generated from the image config (args from
	// Entrypoint+Cmd, env, working directory and user resolved against the image's /etc/passwd).
	Spec *specs.Spec
}

// Unpack unpacks the image tagged tag in the OCI layout dir into a bundle with umoci, as root.
// umoci reads the layout but may take a lock in it: unpack from a layout the test owns.
func Unpack(t testing.TB, dir, tag string) *Bundle {
	t.Helper()
	RequireRoot(t, "unpacking an image for runc")
	umoci := LookPath(t, "umoci", "umoci")
	b := &Bundle{Dir: filepath.Join(t.TempDir(), "bundle")}
	if _, err := runLogged(t.Context(), umoci, "unpack", "--image", dir+":"+tag, b.Dir); err != nil {
		t.Fatalf("unpacking %s:%s: %v", dir, tag, err)
	}
	raw, err := os.ReadFile(filepath.Join(b.Dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	b.Spec = new(specs.Spec)
	if err := json.Unmarshal(raw, b.Spec); err != nil {
		t.Fatalf("reading the bundle's config.json: %v", err)
	}
	return b
}

type runOptions struct {
	args []string
	env  []string
}

// RunOption configures Run.
type RunOption func(*runOptions)

// WithArgs replaces the image's Entrypoint+Cmd.
func WithArgs(args ...string) RunOption {
	return func(o *runOptions) { o.args = args }
}

// WithEnv adds "KEY=VALUE" entries to the image's environment, replacing entries with the same key.
func WithEnv(kv ...string) RunOption {
	return func(o *runOptions) { o.env = append(o.env, kv...) }
}

// Container is a process running in runc. Its stdout and stderr go to the test log line by line
// and are kept for Output.
type Container struct {
	// ID is runc's container ID.
	ID string

	t      testing.TB
	runc   string
	state  string
	cmd    *exec.Cmd
	out    tailBuffer
	logw   *lineLogger
	exited chan struct{}
	code   int
	err    error
}

// RunImage unpacks the image tagged tag in the OCI layout dir and runs it; see Run.
func RunImage(t testing.TB, dir, tag string, opts ...RunOption) *Container {
	t.Helper()
	return Run(t, Unpack(t, dir, tag), opts...)
}

// Run starts the bundle's process in runc as the image's user, with the image's environment plus
// WithEnv, no terminal, and no network namespace (it shares the host's loopback, so a server in
// it is reachable on 127.0.0.1). The container is killed and deleted when the test ends.
func Run(t testing.TB, b *Bundle, opts ...RunOption) *Container {
	t.Helper()
	runc := LookPath(t, "runc", "runc")
	var o runOptions
	for _, opt := range opts {
		opt(&o)
	}
	spec := configure(b.Spec, o)
	raw, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	c := &Container{ID: "hfpack-e2e-" + randomHex(6), t: t, runc: runc, state: t.TempDir(), exited: make(chan struct{})}
	c.logw = &lineLogger{t: t, prefix: c.ID}
	c.cmd = exec.Command(runc, "--root", c.state, "run", "--bundle", b.Dir, c.ID)
	c.cmd.Stdout = multiWriter{&c.out, c.logw}
	c.cmd.Stderr = c.cmd.Stdout
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting runc: %v", err)
	}
	go c.wait()
	t.Cleanup(c.cleanup)
	return c
}

// configure returns a copy of spec with the options applied, no terminal and no network namespace.
func configure(spec *specs.Spec, o runOptions) *specs.Spec {
	s := *spec
	p := *s.Process
	s.Process = &p
	p.Terminal = false
	if o.args != nil {
		p.Args = slices.Clone(o.args)
	}
	p.Env = mergeEnv(p.Env, o.env)
	if s.Linux != nil {
		l := *s.Linux
		l.Namespaces = slices.DeleteFunc(slices.Clone(l.Namespaces), func(ns specs.LinuxNamespace) bool {
			return ns.Type == specs.NetworkNamespace
		})
		s.Linux = &l
	}
	return &s
}

// mergeEnv returns base with extra appended, an extra entry replacing a base entry with its key.
func mergeEnv(base, extra []string) []string {
	out := slices.Clone(base)
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		i := slices.IndexFunc(out, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		if i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}

func (c *Container) wait() {
	err := c.cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		c.code = ee.ExitCode()
	default:
		c.code, c.err = -1, err
	}
	c.logw.flush()
	close(c.exited)
}

// Output returns everything the container wrote to stdout and stderr so far.
func (c *Container) Output() string { return c.out.String() }

// Signal sends sig to the container's init process (runc kill).
func (c *Container) Signal(sig syscall.Signal) error {
	_, err := runLogged(context.Background(), c.runc, "--root", c.state, "kill", c.ID, fmt.Sprint(int(sig)))
	return err
}

// Wait waits for the container's process to exit and returns its exit code (128+N when killed by
// signal N, as runc reports it).
func (c *Container) Wait(ctx context.Context) (int, error) {
	select {
	case <-c.exited:
		return c.code, c.err
	case <-ctx.Done():
		return -1, fmt.Errorf("waiting for container %s: %w", c.ID, ctx.Err())
	}
}

// Exited is closed when the container's process has exited.
func (c *Container) Exited() <-chan struct{} { return c.exited }

// Exec runs args in the running container (runc exec, same user and environment as the process)
// and returns its combined output.
func (c *Container) Exec(ctx context.Context, args ...string) ([]byte, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, c.runc, append([]string{"--root", c.state, "exec", c.ID}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("runc exec %s %s: %w\n%s", c.ID, strings.Join(args, " "), err, out.String())
	}
	return out.Bytes(), nil
}

func (c *Container) cleanup() {
	select {
	case <-c.exited:
	default:
		_ = c.Signal(syscall.SIGKILL)
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	}
	if _, err := runLogged(context.Background(), c.runc, "--root", c.state, "delete", "--force", c.ID); err != nil {
		c.t.Logf("deleting container %s: %v", c.ID, err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type multiWriter []interface{ Write([]byte) (int, error) }

func (m multiWriter) Write(p []byte) (int, error) {
	for _, w := range m {
		if _, err := w.Write(p); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// lineLogger writes complete lines to the test log with a prefix.
type lineLogger struct {
	t      testing.TB
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.t.Logf("[%s] %s", l.prefix, l.buf[:i])
		l.buf = l.buf[i+1:]
	}
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.t.Logf("[%s] %s", l.prefix, l.buf)
		l.buf = nil
	}
}
