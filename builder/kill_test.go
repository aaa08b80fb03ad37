package builder_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/publish"
)

// childEnv names the JSON file of a build the test binary runs as a child.
const childEnv = "HFPACK_TEST_CHILD_BUILD"

type childJob struct {
	Inputs      builder.Inputs
	Cache       string
	Output      string
	StoredBlobs bool
}

// TestChildBuild is not a test: it is the child process of the kill and
// timezone tests. It builds a job and prints the image digest.
func TestChildBuild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("runs only as a child process")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var job childJob
	if err := json.Unmarshal(b, &job); err != nil {
		t.Fatal(err)
	}
	c, err := cache.Open(job.Cache)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	plan, err := builder.NewPlan(ctx, job.Inputs, builder.WithCache(c))
	if err != nil {
		t.Fatal(err)
	}
	opts := []builder.Option{builder.WithCache(c), builder.WithWheelInstaller(fakeInstaller)}
	if job.StoredBlobs {
		opts = append(opts, builder.WithStoredBlobs())
	}
	img, err := builder.Build(ctx, plan, opts...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := publish.Publish(ctx, img, publish.Target{Kind: publish.OCI, Path: job.Output})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("DIGEST %s\n", d)
}

func childCmd(t *testing.T, job childJob, env ...string) *exec.Cmd {
	t.Helper()
	b, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "job.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildBuild$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), childEnv+"="+path), env...)
	return cmd
}

// Builds in other processes with other TZ and umask give the digest of
// this one.
func TestChildProcessesAgree(t *testing.T) {
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	want := digest(t, first(build(t, p, t.TempDir())))
	for _, tz := range []string{"Pacific/Chatham", "America/St_Johns"} {
		out := filepath.Join(t.TempDir(), "oci")
		cmd := childCmd(t, childJob{Inputs: p.inputs, Cache: t.TempDir(), Output: out}, "TZ="+tz)
		old := syscall.Umask(0o027)
		b, err := cmd.CombinedOutput()
		syscall.Umask(old)
		if err != nil {
			t.Fatalf("child build in %s: %v\n%s", tz, err, b)
		}
		if !strings.Contains(string(b), "DIGEST "+want.String()) {
			t.Errorf("child build in TZ=%s: %s, want digest %s", tz, b, want)
		}
	}
}

// A build killed half-way through writing a large layer leaves no cache entry that
// points at a partial blob, and nothing at the output path.
func TestKilledBuildLeavesNoCorruption(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes and copies a 256 MiB sparse file")
	}
	baseDir, baseDigest := baseLayout(t)
	p := newProject(t, baseDir, baseDigest)
	big := filepath.Join(p.inputs.ModelDir, "huge.bin")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(256 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cacheDir, out := t.TempDir(), filepath.Join(t.TempDir(), "oci")
	cmd := childCmd(t, childJob{Inputs: p.inputs, Cache: cacheDir, Output: out, StoredBlobs: true})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !hasTempLayer(filepath.Join(cacheDir, "blobs")) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("child never started writing a layer")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("killed the child %s after it started", time.Since(deadline.Add(-30*time.Second)))
	cmd.Process.Kill()
	cmd.Wait()

	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output %s exists after a killed build (%v)", out, err)
	}
	c, err := cache.Open(cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := builder.NewPlan(context.Background(), p.inputs, builder.WithCache(c))
	if err != nil {
		t.Fatal(err)
	}
	for _, lp := range plan.Layers {
		l, ok, err := c.Layer(lp.Key)
		if err != nil || !ok {
			continue
		}
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := v1.SHA256(rc)
		rc.Close()
		if want, _ := l.Digest(); err != nil || got != want {
			t.Errorf("cache entry for layer %s: blob sha256 %s, want %s", lp.Name, got, want)
		}
	}
}

func hasTempLayer(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-layer-") {
			if fi, err := e.Info(); err == nil && fi.Size() > 16<<20 {
				return true
			}
		}
	}
	return false
}
