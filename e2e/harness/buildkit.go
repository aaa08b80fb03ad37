package harness

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofrs/flock"
	"github.com/moby/buildkit/client"
)

const buildkitModule = "github.com/moby/buildkit"

// BuildKitBinaries are the paths of buildkitd and buildctl.
type BuildKitBinaries struct {
	Buildkitd string
	Buildctl  string
}

// EnsureBuildKitBinaries returns buildkitd and buildctl built from the buildkit module this
// module requires (the tool directives in go.mod), building them into the cache directory when
// absent. The cache is keyed by the buildkit version, the Go version and the architecture.
// HFPACK_BUILDKIT_BIN names a directory of prebuilt binaries to use instead.
// Building takes a few minutes and needs the go command and this module's source.
func EnsureBuildKitBinaries(ctx context.Context, cache string) (BuildKitBinaries, error) {
	if d := os.Getenv("HFPACK_BUILDKIT_BIN"); d != "" {
		return BuildKitBinaries{filepath.Join(d, "buildkitd"), filepath.Join(d, "buildctl")}, nil
	}
	version, err := buildkitVersion(ctx)
	if err != nil {
		return BuildKitBinaries{}, err
	}
	dir := filepath.Join(cache, "buildkit", fmt.Sprintf("%s-%s-%s", version, runtime.Version(), runtime.GOARCH))
	bins := BuildKitBinaries{filepath.Join(dir, "buildkitd"), filepath.Join(dir, "buildctl")}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return bins, err
	}
	lock := flock.New(dir + ".lock")
	if err := lock.Lock(); err != nil {
		return bins, fmt.Errorf("locking the buildkit cache: %w", err)
	}
	defer lock.Unlock()
	if _, err := os.Stat(bins.Buildctl); err == nil {
		return bins, nil
	}
	tmp, err := tempBuildDir(dir)
	if err != nil {
		return bins, err
	}
	defer os.RemoveAll(tmp)
	for _, cmd := range []string{"buildkitd", "buildctl"} {
		pkg := buildkitModule + "/cmd/" + cmd
		if _, err := runLogged(ctx, "go", "build", "-trimpath", "-o", filepath.Join(tmp, cmd), pkg); err != nil {
			return bins, fmt.Errorf("building %s (is `tool %s` in go.mod?): %w", cmd, pkg, err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return bins, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return bins, fmt.Errorf("publishing the buildkit binaries: %w", err)
	}
	return bins, nil
}

// buildkitVersion is the buildkit version linked into this binary, or else the one go.mod requires.
func buildkitVersion(ctx context.Context) (string, error) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == buildkitModule {
				if m.Replace != nil {
					m = m.Replace
				}
				return m.Version, nil
			}
		}
	}
	out, err := runLogged(ctx, "go", "list", "-m", "-f", "{{.Version}}", buildkitModule)
	if err != nil {
		return "", fmt.Errorf("finding the buildkit version: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// BuildKit is a running buildkitd with its OCI worker (runc), listening on a Unix socket.
type BuildKit struct {
	// Addr is the daemon's address, "unix:///.../buildkitd.sock", for buildctl --addr, hfpack
	// --buildkit-addr and client.New.
	Addr string
	// Root is buildkitd's state directory, removed when the test ends.
	Root string
	// Bin holds the buildkitd and buildctl paths.
	Bin BuildKitBinaries
}

type buildkitOptions struct {
	insecure  []string
	debugAddr string
}

// BuildKitOption configures StartBuildKit.
type BuildKitOption func(*buildkitOptions)

// WithInsecureRegistry lets the daemon pull from and push to the registry at host:port over
// plain HTTP (for the harness Registry). By default no registry is insecure.
func WithInsecureRegistry(hostport string) BuildKitOption {
	return func(o *buildkitOptions) { o.insecure = append(o.insecure, hostport) }
}

// WithDebugAddr has buildkitd serve its debug handlers (net/http/pprof, expvar) on addr
// (host:port), for profiling the daemon from a benchmark.
func WithDebugAddr(addr string) BuildKitOption {
	return func(o *buildkitOptions) { o.debugAddr = addr }
}

// StartBuildKit starts buildkitd as root with the OCI worker (Debian's runc) and the containerd
// worker off, its root and socket in a temporary directory, waits until it lists a worker, and
// stops it when the test ends. It calls Unavailable when it cannot run here (not root, no runc).
func StartBuildKit(t testing.TB, opts ...BuildKitOption) *BuildKit {
	t.Helper()
	RequireRoot(t, "buildkitd with the OCI worker")
	LookPath(t, "runc", "runc")
	var o buildkitOptions
	for _, opt := range opts {
		opt(&o)
	}
	cache, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	bins, err := EnsureBuildKitBinaries(t.Context(), cache)
	if err != nil {
		Unavailable(t, "buildkit binaries: %v", err)
	}
	// A short path: the socket's path must fit in sun_path (108 bytes).
	root, err := os.MkdirTemp("", "hfpack-bk-")
	if err != nil {
		t.Fatal(err)
	}
	bk := &BuildKit{Addr: "unix://" + filepath.Join(root, "buildkitd.sock"), Root: root, Bin: bins}
	d, err := bk.start(t.Context(), o)
	t.Cleanup(func() {
		if d != nil {
			if !d.stop(20 * time.Second) {
				t.Logf("buildkitd ignored SIGTERM for 20s and was killed")
			}
		}
		if err := removeMounted(root); err != nil {
			t.Errorf("removing the buildkitd root: %v", err)
		}
	})
	if d != nil {
		d.logOnFailure(t)
	}
	if err != nil {
		t.Fatalf("starting buildkitd: %v", err)
	}
	return bk
}

func (bk *BuildKit) start(ctx context.Context, o buildkitOptions) (*daemon, error) {
	conf := filepath.Join(bk.Root, "buildkitd.toml")
	if err := os.WriteFile(conf, []byte(buildkitdConfig(o)), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bk.Bin.Buildkitd,
		"--config", conf,
		"--root", filepath.Join(bk.Root, "state"),
		"--addr", bk.Addr,
		"--oci-worker=true", "--containerd-worker=false",
	)
	if o.debugAddr != "" {
		cmd.Args = append(cmd.Args, "--debugaddr", o.debugAddr)
	}
	d, err := startDaemon("buildkitd", cmd)
	if err != nil {
		return nil, err
	}
	err = waitFor(ctx, 60*time.Second, d.exited, func(ctx context.Context) error {
		c, err := client.New(ctx, bk.Addr)
		if err != nil {
			return err
		}
		defer c.Close()
		ws, err := c.ListWorkers(ctx)
		if err != nil {
			return err
		}
		if len(ws) == 0 {
			return fmt.Errorf("no workers yet")
		}
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("waiting for buildkitd on %s: %w", bk.Addr, err)
	}
	return d, nil
}

// buildkitdConfig is buildkitd.toml: the insecure registries, sorted; provenance and garbage
// collection are left to each build.
func buildkitdConfig(o buildkitOptions) string {
	var b strings.Builder
	b.WriteString("[worker.oci]\n  enabled = true\n  gc = false\n[worker.containerd]\n  enabled = false\n")
	for _, r := range slices.Sorted(slices.Values(o.insecure)) {
		fmt.Fprintf(&b, "[registry.%q]\n  http = true\n  insecure = true\n", r)
	}
	return b.String()
}

// Client connects to the daemon; the connection is closed when the test ends.
func (bk *BuildKit) Client(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.New(t.Context(), bk.Addr)
	if err != nil {
		t.Fatalf("connecting to buildkitd: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Buildctl runs buildctl --addr ADDR ARGS with stdin (may be nil) and returns its stdout;
// the error carries stderr.
func (bk *BuildKit) Buildctl(ctx context.Context, stdin io.Reader, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bk.Bin.Buildctl, append([]string{"--addr", bk.Addr}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("buildctl %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// removeMounted unmounts whatever is still mounted under dir, deepest first, then removes it.
func removeMounted(dir string) error {
	mounts, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	for _, m := range slices.Backward(mounts) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			return fmt.Errorf("unmounting %s: %w", m, err)
		}
	}
	return os.RemoveAll(dir)
}

// mountsUnder lists the mount points at or below dir, in mount order.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out, sc.Err()
}

// unescapeMount decodes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
