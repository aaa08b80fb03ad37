package harness

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// Registry is a running CNCF distribution registry (Debian's docker-registry) on loopback,
// speaking plain HTTP with no authentication.
type Registry struct {
	// Addr is the registry's host:port, e.g. "127.0.0.1:40123".
	Addr string
	// Root is the directory holding the registry's storage.
	Root string
}

// StartRegistry starts a registry with its storage in a temporary directory, waits until it
// answers /v2/ and stops it when the test ends. It calls Unavailable when docker-registry is
// not installed.
func StartRegistry(t testing.TB) *Registry {
	t.Helper()
	bin := LookPath(t, "docker-registry", "docker-registry")
	r, d, err := startRegistry(t.Context(), bin, t.TempDir())
	if d != nil {
		d.logOnFailure(t)
		t.Cleanup(func() { d.stop(10 * time.Second) })
	}
	if err != nil {
		t.Fatalf("starting the registry: %v", err)
	}
	return r
}

func startRegistry(ctx context.Context, bin, dir string) (*Registry, *daemon, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, nil, err
	}
	r := &Registry{Addr: addr, Root: filepath.Join(dir, "storage")}
	conf := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(conf, []byte(registryConfig(r)), 0o644); err != nil {
		return nil, nil, fmt.Errorf("writing the registry config: %w", err)
	}
	d, err := startDaemon("docker-registry", exec.Command(bin, "serve", conf))
	if err != nil {
		return nil, nil, err
	}
	url := "http://" + addr + "/v2/"
	err = waitFor(ctx, 30*time.Second, d.exited, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	})
	if err != nil {
		return nil, d, fmt.Errorf("waiting for docker-registry on %s: %w", addr, err)
	}
	return r, d, nil
}

// registryConfig is the distribution configuration: filesystem storage, loopback HTTP, no auth,
// deletes allowed (tests may clean up), no healthchecks or notifications.
func registryConfig(r *Registry) string {
	return fmt.Sprintf(`version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
`, r.Root, r.Addr)
}

// Repository returns the named repository in this registry, marked insecure (plain HTTP).
// It panics on an invalid repository name, which is a bug in the test.
func (r *Registry) Repository(repo string) name.Repository {
	ref, err := name.NewRepository(r.Addr+"/"+repo, name.Insecure)
	if err != nil {
		panic(fmt.Sprintf("harness: invalid repository %q: %v", repo, err))
	}
	return ref
}

// Ref returns "ADDR/repo" followed by suffix (":tag" or "@sha256:..."), the form skopeo, buildctl
// and hfpack take.
func (r *Registry) Ref(repo, suffix string) string {
	return r.Addr + "/" + repo + suffix
}
