package harness

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

func TestContainerRunsTheBaseImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the base image (minutes when uncached) and runs it in runc")
	}
	reg := StartRegistry(t)
	ref := Base(t, DefaultBase()).Push(t, reg, "base/python")
	dir, tag := CopyToLayout(t, ref.String())

	t.Run("python3 prints its version and exits 0", func(t *testing.T) {
		c := RunImage(t, dir, tag, WithArgs("python3", "-c", "import sys; print(sys.version)"))
		code, err := c.Wait(t.Context())
		if err != nil || code != 0 {
			t.Fatalf("exit code %d, %v; output:\n%s", code, err, c.Output())
		}
		if !strings.HasPrefix(c.Output(), "3.11") {
			t.Errorf("output = %q, want a 3.11 version", c.Output())
		}
	})

	t.Run("runs as the image's user with the image's environment", func(t *testing.T) {
		dir, tag := userLayout(t, Base(t, DefaultBase()).Image, "nobody", "FROM_IMAGE=yes")
		c := RunImage(t, dir, tag, WithArgs("python3", "-c",
			"import os; print(os.getuid(), os.getgid(), os.environ['FROM_IMAGE'], os.environ['EXTRA'])"),
			WithEnv("EXTRA=1"))
		if code, err := c.Wait(t.Context()); err != nil || code != 0 {
			t.Fatalf("exit code %d, %v; output:\n%s", code, err, c.Output())
		}
		if got, want := strings.TrimSpace(c.Output()), "65534 65534 yes 1"; got != want {
			t.Errorf("uid gid env = %q, want %q", got, want)
		}
	})

	t.Run("a server on the host loopback answers, runs exec, exits cleanly on SIGTERM", func(t *testing.T) {
		addr, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(addr)
		server := `
import http.server, os, signal, sys
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = os.environ["GREETING"].encode()
        self.send_response(200); self.end_headers(); self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(os.environ["AIP_HTTP_PORT"])), H).serve_forever()
`
		c := RunImage(t, dir, tag, WithArgs("python3", "-c", server),
			WithEnv("AIP_HTTP_PORT="+port, "GREETING=hello from runc"))
		body := pollGet(t, c, fmt.Sprintf("http://127.0.0.1:%s/", port))
		if body != "hello from runc" {
			t.Errorf("GET / = %q, want the GREETING from the environment", body)
		}
		out, err := c.Exec(t.Context(), "python3", "-c", "import os; print(os.environ['GREETING'])")
		if err != nil || strings.TrimSpace(string(out)) != "hello from runc" {
			t.Errorf("exec printed %q, %v; want the container's environment", out, err)
		}
		if err := c.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		if code, err := c.Wait(ctx); err != nil || code != 0 {
			t.Errorf("after SIGTERM: exit code %d, %v; want 0", code, err)
		}
	})
}

// pollGet GETs url until it answers 200 or the container exits.
func pollGet(t *testing.T, c *Container, url string) string {
	t.Helper()
	var body string
	err := waitFor(t.Context(), 30*time.Second, c.Exited(), func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return err
		}
		body = string(b)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("polling %s: %v\ncontainer output:\n%s", url, err, c.Output())
	}
	return body
}

// userLayout writes img with its User and an extra Env entry set to an OCI layout tagged "image".
func userLayout(t *testing.T, img v1.Image, user, env string) (dir, tag string) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.User = user
	cf.Config.Env = append(cf.Config.Env, env)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	ann := map[string]string{"org.opencontainers.image.ref.name": "image"}
	if err := p.AppendImage(img, layout.WithAnnotations(ann)); err != nil {
		t.Fatal(err)
	}
	return dir, "image"
}
