package smoke

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	specsv1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrUnavailable reports that this machine cannot run images: a tool is missing or the process
// is not root.
var ErrUnavailable = errors.New("cannot run images here")

// Toolset holds the paths of the executables smoke runs.
type Toolset struct {
	Runc, Skopeo, Umoci string
}

// lookPath and geteuid are replaced in tests.
var (
	lookPath = exec.LookPath
	geteuid  = os.Geteuid
)

// Tools finds runc, skopeo and umoci, and checks the process is root (runc needs it). Its error
// wraps ErrUnavailable and says how to fix every problem at once.
func Tools() (Toolset, error) {
	var ts Toolset
	var missing []string
	for _, x := range []struct {
		name string
		dst  *string
	}{{"runc", &ts.Runc}, {"skopeo", &ts.Skopeo}, {"umoci", &ts.Umoci}} {
		p, err := lookPath(x.name)
		if err != nil {
			missing = append(missing, x.name)
		}
		*x.dst = p
	}
	var problems []string
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("%s not found on PATH (Debian/Ubuntu: sudo apt-get install %s)",
			strings.Join(missing, ", "), strings.Join(missing, " ")))
	}
	if geteuid() != 0 {
		problems = append(problems, "runc needs root: run hfpack smoke with sudo")
	}
	if len(problems) > 0 {
		return ts, fmt.Errorf("%w: %s", ErrUnavailable, strings.Join(problems, "; "))
	}
	return ts, nil
}

// source is the skopeo source for image: oci:DIR[:TAG] and docker-archive:FILE pass through,
// anything else is a registry reference. Loopback registries are reached over plain HTTP.
func source(image string) (src string, insecure bool, err error) {
	if rest, ok := strings.CutPrefix(image, "oci:"); ok {
		src, err := ociSource(rest)
		return src, false, err
	}
	if strings.HasPrefix(image, "docker-archive:") {
		return image, false, nil
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", false, fmt.Errorf("image %q: want REF, oci:DIR[:TAG] or docker-archive:FILE: %w", image, err)
	}
	host := ref.Context().RegistryStr()
	if h, _, err := splitHost(host); err == nil {
		host = h
	}
	insecure = host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
	return "docker://" + image, insecure, nil
}

// ociSource names one image of the OCI layout for skopeo: DIR:TAG as given; DIR@sha256:... or
// DIR alone resolved to the tag (org.opencontainers.image.ref.name) of that manifest or of the
// layout's only tagged manifest (hfpack's layouts also hold an untagged SBOM).
func ociSource(rest string) (string, error) {
	dir, digest, byDigest := strings.Cut(rest, "@")
	if !byDigest {
		if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
			return "oci:" + rest, nil
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return "", fmt.Errorf("image oci:%s: %w", rest, err)
	}
	var idx specsv1.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		return "", fmt.Errorf("image oci:%s: reading index.json: %w", rest, err)
	}
	var tags []string
	for _, m := range idx.Manifests {
		tag := m.Annotations[specsv1.AnnotationRefName]
		if byDigest && m.Digest.String() == digest {
			if tag == "" {
				return "", fmt.Errorf("image oci:%s: the manifest has no %s to name it by", rest, specsv1.AnnotationRefName)
			}
			return "oci:" + dir + ":" + tag, nil
		}
		if !byDigest && tag != "" {
			tags = append(tags, tag)
		}
	}
	if byDigest {
		return "", fmt.Errorf("image oci:%s: no manifest with digest %s in %s", rest, digest, dir)
	}
	if len(tags) != 1 {
		return "", fmt.Errorf("image oci:%s: %d tagged images (%s): name one as oci:%s:TAG", rest, len(tags), strings.Join(tags, ", "), dir)
	}
	return "oci:" + dir + ":" + tags[0], nil
}

func splitHost(hostport string) (string, string, error) {
	i := strings.LastIndex(hostport, ":")
	if i < 0 {
		return hostport, "", nil
	}
	return strings.Trim(hostport[:i], "[]"), hostport[i+1:], nil
}

// bundle is an unpacked OCI runtime bundle.
type bundle struct {
	dir  string
	spec *specs.Spec
}

// unpack copies image into an OCI layout under work and unpacks it into a runtime bundle.
func (ts Toolset) unpack(ctx context.Context, image, work string) (*bundle, error) {
	src, insecure, err := source(image)
	if err != nil {
		return nil, err
	}
	layoutRef := "oci:" + filepath.Join(work, "layout") + ":image"
	args := []string{"copy", "--quiet"}
	if insecure {
		args = append(args, "--src-tls-verify=false")
	}
	if err := runTool(ctx, ts.Skopeo, append(args, src, layoutRef)...); err != nil {
		return nil, fmt.Errorf("copying %s: %w", image, err)
	}
	b := &bundle{dir: filepath.Join(work, "bundle")}
	if err := runTool(ctx, ts.Umoci, "unpack", "--image", filepath.Join(work, "layout")+":image", b.dir); err != nil {
		return nil, fmt.Errorf("unpacking %s: %w", image, err)
	}
	raw, err := os.ReadFile(filepath.Join(b.dir, "config.json"))
	if err != nil {
		return nil, err
	}
	b.spec = new(specs.Spec)
	if err := json.Unmarshal(raw, b.spec); err != nil {
		return nil, fmt.Errorf("reading the bundle's config.json: %w", err)
	}
	if b.spec.Process == nil || len(b.spec.Process.Args) == 0 {
		return nil, fmt.Errorf("%w: %s has no Entrypoint or Cmd", ErrContract, image)
	}
	return b, nil
}

func runTool(ctx context.Context, bin string, args ...string) error {
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// configure sets env (replacing entries with the same key), no terminal, and the host's network
// namespace, so the server is reachable on 127.0.0.1.
func configure(s *specs.Spec, env []string) {
	s.Process.Terminal = false
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		i := slices.IndexFunc(s.Process.Env, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		if i >= 0 {
			s.Process.Env[i] = kv
		} else {
			s.Process.Env = append(s.Process.Env, kv)
		}
	}
	if s.Linux != nil {
		s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(ns specs.LinuxNamespace) bool {
			return ns.Type == specs.NetworkNamespace
		})
	}
}

// container is the image's process running in runc.
type container struct {
	ts     Toolset
	id     string
	state  string
	cmd    *exec.Cmd
	logs   *tail
	exited chan struct{}
	code   int
}

// start runs the bundle in runc with env added.
func (ts Toolset) start(b *bundle, env []string, logs io.Writer) (*container, error) {
	configure(b.spec, env)
	raw, err := json.MarshalIndent(b.spec, "", "\t")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(b.dir, "config.json"), raw, 0o644); err != nil {
		return nil, err
	}
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	c := &container{ts: ts, id: "hfpack-smoke-" + hex.EncodeToString(id), state: filepath.Join(filepath.Dir(b.dir), "runc"),
		logs: &tail{w: logs}, exited: make(chan struct{})}
	c.cmd = exec.Command(ts.Runc, "--root", c.state, "run", "--bundle", b.dir, c.id)
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	c.cmd.SysProcAttr = dieWithParent()
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting runc: %w", err)
	}
	go func() {
		err := c.cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			c.code = ee.ExitCode()
		} else if err != nil {
			c.code = -1
		}
		close(c.exited)
	}()
	return c, nil
}

func (c *container) signal(sig syscall.Signal) error {
	return runTool(context.Background(), c.ts.Runc, "--root", c.state, "kill", c.id, fmt.Sprint(int(sig)))
}

// stop kills the container if it still runs and deletes it.
func (c *container) stop() {
	select {
	case <-c.exited:
	default:
		_ = c.signal(syscall.SIGKILL)
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	}
	_ = runTool(context.Background(), c.ts.Runc, "--root", c.state, "delete", "--force", c.id)
}

// withLogs appends the tail of the container's output to err.
func (c *container) withLogs(err error) error {
	if s := c.logs.String(); s != "" {
		return fmt.Errorf("%w\ncontainer output (last lines):\n%s", err, s)
	}
	return err
}

// tail keeps the last 4 KiB written to it and copies everything to w when set.
type tail struct {
	mu  sync.Mutex
	buf []byte
	w   io.Writer
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	if t.w != nil {
		_, _ = t.w.Write(p)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}
