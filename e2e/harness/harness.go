package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Unavailable reports that a real component cannot run on this machine. It skips the test with
// the message, or, when the environment variable CI is "true", fails it: in CI every component
// must be available.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("e2e component unavailable (CI=true, so this fails instead of skipping): %s", msg)
		return
	}
	t.Skipf("e2e component unavailable: %s", msg)
}

// RequireRoot calls Unavailable unless the test runs as root, which runc, debootstrap and
// buildkitd's OCI worker need.
func RequireRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "%s needs root (run the e2e tests as root, as CI does)", what)
	}
}

// LookPath returns the path of the named executable, or calls Unavailable naming the Debian
// package that provides it.
func LookPath(t testing.TB, file, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(file)
	if err != nil {
		Unavailable(t, "%s not found on PATH (apt-get install -y %s, or run e2e/setup.sh)", file, debianPackage)
	}
	return p
}

// CacheDir returns the directory that holds the harness's cached artifacts:
// $HFPACK_E2E_CACHE if set, else the user cache directory's hfpack-e2e.
func CacheDir() (string, error) {
	if d := os.Getenv("HFPACK_E2E_CACHE"); d != "" {
		return filepath.Abs(d)
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locating the e2e cache (set HFPACK_E2E_CACHE): %w", err)
	}
	return filepath.Join(d, "hfpack-e2e"), nil
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitFor calls ready every 50 ms until it returns nil, the process behind exited is closed, or
// the timeout passes; the last error from ready is returned.
func waitFor(ctx context.Context, timeout time.Duration, exited <-chan struct{}, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w", timeout, err)
		case <-exited:
			return fmt.Errorf("exited before it was ready: %w", err)
		case <-tick.C:
		}
	}
}

// tailBuffer is a concurrency-safe buffer for a child process's output.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail returns at most the last n bytes, for error messages.
func (b *tailBuffer) tail(n int) string {
	s := b.String()
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}

// runLogged runs a command, returning its combined output's tail in the error when it fails.
func runLogged(ctx context.Context, name string, args ...string) ([]byte, error) {
	var out tailBuffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) || out.String() != "" {
			return nil, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.tail(4000))
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return []byte(out.String()), nil
}

// tempBuildDir makes a temporary directory next to the cache entry dir, to be renamed to dir when
// complete, after removing the ones that builds of the same entry killed midway left behind. The
// caller must hold dir's lock.
func tempBuildDir(dir string) (string, error) {
	prefix := filepath.Join(filepath.Dir(dir), ".build-"+filepath.Base(dir)+"-")
	stale, _ := filepath.Glob(prefix + "*")
	for _, s := range stale {
		if err := removeMounted(s); err != nil {
			return "", fmt.Errorf("removing a stale build directory: %w", err)
		}
	}
	return os.MkdirTemp(filepath.Dir(dir), filepath.Base(prefix))
}
