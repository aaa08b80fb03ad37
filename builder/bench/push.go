package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hfpack/hfpack/builder/publish"
)

type pushResult struct {
	hfpack, skopeo, again time.Duration
	againUploads          int64
}

// comparePush writes img as an OCI layout (not timed), then times hfpack's
// push of img and skopeo's copy of the layout, each into a fresh loopback
// registry, and hfpack's push again into the registry that has every blob.
func comparePush(dir string, img v1.Image) (*pushResult, error) {
	ctx := context.Background()
	layout := filepath.Join(dir, "layout")
	if _, err := measure("layout", func() error {
		_, err := publish.Publish(ctx, img, publish.Target{Kind: publish.OCI, Path: layout, Ref: "bench"})
		return err
	}); err != nil {
		return nil, err
	}
	var res pushResult
	var uploads atomic.Int64
	anon := publish.WithKeychain(authn.NewMultiKeychain())
	counting := publish.WithTransport(countingTransport{http.DefaultTransport, &uploads})
	pushTo := func(addr string) error {
		_, err := publish.Publish(ctx, img, publish.Target{Kind: publish.Registry, Ref: addr + "/bench:latest"}, anon, counting)
		return err
	}
	err := withRegistry(filepath.Join(dir, "registry-skopeo"), func(addr string) error {
		t, err := measure("skopeo", func() error {
			cmd := exec.Command("skopeo", "copy", "--quiet", "--dest-tls-verify=false",
				"oci:"+layout+":bench", "docker://"+addr+"/bench:latest")
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			return cmd.Run()
		})
		res.skopeo = t.wall
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("skopeo copy: %w", err)
	}
	err = withRegistry(filepath.Join(dir, "registry-hfpack"), func(addr string) error {
		t, err := measure("push", func() error { return pushTo(addr) })
		if err != nil {
			return err
		}
		res.hfpack = t.wall
		uploads.Store(0)
		t, err = measure("re-push", func() error { return pushTo(addr) })
		res.again, res.againUploads = t.wall, uploads.Load()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("hfpack push: %w", err)
	}
	return &res, nil
}

// withRegistry runs f with the address of a fresh loopback registry whose
// storage lives under dir, removed afterwards.
func withRegistry(dir string, f func(addr string) error) error {
	reg, err := startRegistry(dir)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	defer reg.stop()
	return f(reg.addr)
}

// countingTransport counts blob uploads (PUT or PATCH of a blob).
type countingTransport struct {
	rt http.RoundTripper
	n  *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if (r.Method == http.MethodPatch || r.Method == http.MethodPut) && filepath.Base(filepath.Dir(r.URL.Path)) == "uploads" {
		c.n.Add(1)
	}
	return c.rt.RoundTrip(r)
}

type registry struct {
	addr, root string
	cmd        *exec.Cmd
}

// startRegistry runs Debian's docker-registry on a free loopback port with
// its storage under dir.
func startRegistry(dir string) (*registry, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	r := &registry{addr: addr, root: dir}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
`, filepath.Join(dir, "storage"), addr)), 0o644); err != nil {
		return nil, err
	}
	r.cmd = exec.Command("docker-registry", "serve", conf)
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r, nil
			}
		}
	}
	r.stop()
	return nil, fmt.Errorf("docker-registry did not answer on %s", addr)
}

func (r *registry) stop() {
	r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-done
	}
}
