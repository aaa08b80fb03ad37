// Package e2e runs hfpack the way a user does — the built binaries as subprocesses — against the
// real local stand-ins of e2e/harness: a package index, a registry, a Debian base with CPython,
// and runc. Every scenario asserts what a user would check.
package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// repoRoot is the repository root, from the e2e package directory.
var repoRoot = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Dir(wd)
}()

var bins struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bins.dir != "" {
		os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}

// binDir builds hfpack and hfpack-sidecar once per test binary (static, -trimpath, as `make
// build` does) into one directory, so hfpack finds its sidecar beside itself.
func binDir(t testing.TB) string {
	t.Helper()
	bins.once.Do(func() {
		bins.dir, bins.err = os.MkdirTemp("", "hfpack-e2e-bin-")
		if bins.err != nil {
			return
		}
		for _, pkg := range []string{"./cmd/hfpack", "./cmd/hfpack-sidecar"} {
			out := filepath.Join(bins.dir, filepath.Base(pkg))
			cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
			cmd.Dir = repoRoot
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
			if b, err := cmd.CombinedOutput(); err != nil {
				bins.err = fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
				return
			}
		}
	})
	if bins.err != nil {
		t.Fatal(bins.err)
	}
	return bins.dir
}

// heavy skips t under -short: every scenario builds binaries and images.
func heavy(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e scenario: skipped with -short")
	}
}

// result is one finished hfpack invocation.
type result struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("hfpack %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// hfpack runs the built hfpack in dir with extra environment entries ("K=V") and returns what it
// printed and its exit code. HFPACK_CACHE_DIR defaults to a directory private to the test.
func hfpack(t testing.TB, dir string, env []string, args ...string) result {
	t.Helper()
	return runTool(t, filepath.Join(binDir(t), "hfpack"), dir, env, args...)
}

func runTool(t testing.TB, bin, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HFPACK_CACHE_DIR="+testCache(t), "NO_COLOR=1")
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("running %s: %v", bin, err)
	}
	t.Logf("$ hfpack %s  (exit %d)\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

// mustHfpack is hfpack that fails the test unless the command exits 0.
func mustHfpack(t testing.TB, dir string, env []string, args ...string) result {
	t.Helper()
	r := hfpack(t, dir, env, args...)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	return r
}

var testCaches sync.Map // test name -> cache dir

// testCache is one cache directory per test, shared by its hfpack invocations.
func testCache(t testing.TB) string {
	if d, ok := testCaches.Load(t.Name()); ok {
		return d.(string)
	}
	d := t.TempDir()
	testCaches.Store(t.Name(), d)
	return d
}
