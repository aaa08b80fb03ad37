package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/cache"
	hfllb "github.com/hfpack/hfpack/builder/llb"
	"github.com/hfpack/hfpack/builder/publish"
	"github.com/hfpack/hfpack/e2e/harness"
	"github.com/hfpack/hfpack/lockfile/indextest"
)

var (
	nWheels = flag.Int("wheels", 6, "number of wheels")
	wheelMB = flag.Int("wheel-mb", 16, "total size of the wheels' files, MB")
	modelMB = flag.Int("model-mb", 32, "size of the model weights, MB")
	fileKB  = flag.Int("file-kb", 256, "size of each file in the wheels, KB (the wheels hold wheel-mb of them)")
	reps    = flag.Int("reps", 3, "warm builds and handler edits per builder; their median is reported")
	push    = flag.Bool("push", false, "every build ends in a push to a loopback registry (each builder its own repository, the same tag every run, as a release pipeline does) instead of a new OCI layout or tar")
)

const epoch = 1700000000

// text returns n bytes of deterministic Python-source-like text.
func text(n int, seed int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "def f_%d_%d(x):\n    return x * %d + %q\n", seed, i, i*7919%1000, "abcdefghij"[i%10:])
	}
	return b.Bytes()[:n]
}

// weights returns n bytes of incompressible data.
func weights(n int) []byte {
	b := make([]byte, n)
	x := uint64(88172645463325252)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

func write(b *testing.B, p string, data []byte, mode os.FileMode) string {
	b.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		b.Fatal(err)
	}
	return p
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// project writes the fixture under dir, laid out both for hfpack (Inputs)
// and as a Docker build context (dir/context with a Dockerfile).
func project(b *testing.B, dir string, base builder.BaseInput, baseRef string, srv *indextest.Server) (builder.Inputs, map[string]string) {
	ctx := filepath.Join(dir, "context")
	in := builder.Inputs{Name: "bench", Base: base, SourceDateEpoch: epoch, LargeFile: 8 << 20}
	urls := map[string]string{}
	per, size := *wheelMB<<20 / *nWheels, max(*fileKB, 1)<<10
	for i := range *nWheels {
		spec := indextest.WheelSpec{Name: fmt.Sprintf("pkg%d", i), Version: "1.0"}
		for j := 0; j*size < per; j++ {
			spec.Files = append(spec.Files, indextest.WheelFile{Path: fmt.Sprintf("pkg%d/m%d.py", i, j), Data: text(size, i*100000+j)})
		}
		data := indextest.MustBuildWheel(spec)
		fn := spec.Filename()
		p := write(b, filepath.Join(ctx, "wheels", fn), data, 0o644)
		srv.AddFile(spec.Name, fn, data)
		urls[hexSHA(data)] = srv.FileURL(fn)
		in.Wheels = append(in.Wheels, builder.Wheel{Name: spec.Name, Version: "1.0", Filename: fn, Path: p, SHA256: hexSHA(data), Size: int64(len(data))})
	}
	in.ModelDir = filepath.Join(ctx, "model")
	write(b, filepath.Join(in.ModelDir, "model.safetensors"), weights(*modelMB<<20), 0o644)
	write(b, filepath.Join(in.ModelDir, "config.json"), []byte(`{"hidden":8}`), 0o644)
	h := write(b, filepath.Join(ctx, "app", "handler.py"), []byte("def predict(x):\n    return x\n"), 0o644)
	in.AppFiles = []builder.File{{Path: "/opt/hfpack/worker/handler.py", Source: h, Mode: 0o644}}
	in.SidecarPath = write(b, filepath.Join(ctx, "hfpack-sidecar"), weights(4<<20), 0o755)
	dockerfile := fmt.Sprintf(`# syntax-free: the daemon's built-in dockerfile.v0 frontend
FROM %s
RUN --mount=type=bind,source=wheels,target=/tmp/wheels python3 -m pip install --no-index --no-deps --no-compile --break-system-packages /tmp/wheels/*.whl
COPY model/ /opt/hfpack/model/
COPY app/ /opt/hfpack/worker/
COPY hfpack-sidecar /usr/local/bin/hfpack-sidecar
USER 1000:1000
ENTRYPOINT ["/usr/local/bin/hfpack-sidecar"]
`, baseRef)
	write(b, filepath.Join(ctx, "Dockerfile"), []byte(dockerfile), 0o644)
	return in, urls
}

func installer(b *testing.B) string {
	p := filepath.Join(b.TempDir(), "hfpack-install")
	cmd := exec.Command("go", "build", "-trimpath", "-o", p, "github.com/hfpack/hfpack/builder/llb/internal/cmd/hfpack-install")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building the installer: %v\n%s", err, out)
	}
	return p
}

func timeIt(b *testing.B, f func() error) time.Duration {
	b.Helper()
	start := time.Now()
	if err := f(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// median times *reps runs of f, each after before (when not nil), and
// returns the median: one sub-second run on a shared machine is noise.
func median(b *testing.B, f func() error, before func()) time.Duration {
	b.Helper()
	ds := make([]time.Duration, max(*reps, 1))
	for i := range ds {
		if before != nil {
			before()
		}
		ds[i] = timeIt(b, f)
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// pushBase assembles the Debian base spec describes, pushes it to reg and
// returns it as the builder's base input, with its REF@DIGEST.
func pushBase(b *testing.B, reg *harness.Registry, spec harness.BaseSpec) (builder.BaseInput, string) {
	b.Helper()
	bimg := harness.Base(b, spec)
	ref := bimg.Push(b, reg, "bench/base")
	cf, err := bimg.Image.ConfigFile()
	if err != nil {
		b.Fatal(err)
	}
	return builder.BaseInput{Ref: ref.Context().String(), Digest: ref.DigestStr(), Env: cf.Config.Env,
		Python: "/usr/bin/python3", SitePackages: "/usr/lib/python3/dist-packages"}, ref.String()
}

// coldFixture pushes the default base to reg and plans the fixture on it,
// its wheels served by a new loopback index whose URLs it returns by
// sha256: what the cold-build loops build.
func coldFixture(b *testing.B, reg *harness.Registry) (*builder.Plan, map[string]string) {
	b.Helper()
	base, baseRef := pushBase(b, reg, harness.DefaultBase())
	srv := indextest.NewServer()
	b.Cleanup(srv.Close)
	in, urls := project(b, b.TempDir(), base, baseRef, srv)
	plan, err := builder.NewPlan(context.Background(), in)
	if err != nil {
		b.Fatal(err)
	}
	return plan, urls
}

// nFiles is how many files project puts in the wheels.
func nFiles(wheelMB, wheels, fileKB int) int {
	per, size := wheelMB<<20/wheels, max(fileKB, 1)<<10
	return wheels * ((per + size - 1) / size)
}

// loadavg returns the 1, 5 and 15-minute load averages.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func BenchmarkBuildKit(b *testing.B) {
	loadStart := loadavg()
	reg := harness.StartRegistry(b)
	bk := harness.StartBuildKit(b, harness.WithInsecureRegistry(reg.Addr))
	spec := harness.DefaultBase()
	spec.Packages = append(spec.Packages, "python3-pip") // for the Dockerfile's pip
	base, baseRef := pushBase(b, reg, spec)
	srv := indextest.NewServer()
	b.Cleanup(srv.Close)
	dir := b.TempDir()
	in, urls := project(b, dir, base, baseRef, srv)
	plan, err := builder.NewPlan(context.Background(), in)
	if err != nil {
		b.Fatal(err)
	}
	edits := 0
	// edit changes the handler (a one-line code change) and re-plans.
	edit := func() {
		edits++
		write(b, in.AppFiles[0].Source, fmt.Appendf(nil, "def predict(x):\n    return x  # v%d\n", edits), 0o644)
		if plan, err = builder.NewPlan(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
	inst := installer(b)
	ctx := context.Background()
	prune := func() error { _, err := bk.Buildctl(ctx, nil, "prune", "--all"); return err }

	// Each hfpack run does what `hfpack build --output oci:NEW_DIR` does
	// with its builder: build, then publish into a new OCI layout; with
	// -push, what `hfpack build --push REG/bench/BUILDER:latest` does.
	var repo string // the registry repository of the builder being measured
	publishLayout := func(img v1.Image) error {
		t := publish.Target{Kind: publish.OCI, Path: filepath.Join(b.TempDir(), "oci"), Ref: "bench"}
		if *push {
			t = publish.Target{Kind: publish.Registry, Ref: repo + ":latest"}
		}
		_, err := publish.Publish(ctx, img, t)
		return err
	}
	// The BuildKit backend's export store lives in hfpack's build cache:
	// kept from run to run, emptied for the cold run (a new machine).
	var storeDir string
	llbBuild := func() error {
		store, err := hfllb.OpenStore(storeDir)
		if err != nil {
			return err
		}
		opts := []hfllb.SolveOption{hfllb.WithInstaller(inst),
			hfllb.WithLowerOptions(hfllb.WithWheelURLs(func(w builder.WheelRef) string { return urls[w.SHA256] }))}
		if *push {
			// As `hfpack build --builder buildkit --push` does: the daemon
			// pushes the image by digest, publish moves the tag.
			opts = append(opts, hfllb.WithDaemonPush(repo))
		}
		be := hfllb.NewBackend(bk.Addr, store, opts...)
		r, err := be.Build(ctx, plan)
		if err != nil {
			return err
		}
		return publishLayout(r.Image)
	}
	dockerBuild := func() error {
		c := filepath.Join(dir, "context")
		output := "type=oci,dest=" + filepath.Join(b.TempDir(), "image.tar") + ",rewrite-timestamp=true"
		if *push {
			output = "type=image,name=" + repo + ":latest,push=true,registry.insecure=true,rewrite-timestamp=true"
		}
		_, err := bk.Buildctl(ctx, nil, "build", "--frontend", "dockerfile.v0",
			"--local", "context="+c, "--local", "dockerfile="+c,
			"--opt", fmt.Sprintf("build-arg:SOURCE_DATE_EPOCH=%d", epoch),
			"--output", output)
		return err
	}
	cacheDir := b.TempDir()
	embedded := func() error {
		c, err := cache.Open(cacheDir)
		if err != nil {
			return err
		}
		opts := []builder.Option{builder.WithCache(c)}
		var pre *publish.Prepush
		if *push { // as hfpack build --push: each layer pushed as soon as written
			if pre, err = publish.NewPrepush(ctx, publish.Target{Kind: publish.Registry, Ref: repo + ":latest"}); err != nil {
				return err
			}
			opts = append(opts, builder.WithLayerReady(pre.Add))
		}
		r, err := builder.Embedded(opts...).Build(ctx, plan)
		if err != nil {
			return err
		}
		if pre != nil {
			if err := pre.Wait(); err != nil {
				return err
			}
		}
		return publishLayout(r.Image)
	}

	type row struct {
		name             string
		cold, warm, edit time.Duration
	}
	var rows []row
	for _, s := range []struct {
		name, repo string
		build      func() error
	}{
		{"hfpack LLB on buildkitd", "llb", llbBuild},
		{"Dockerfile + pip on buildkitd", "dockerfile", dockerBuild},
	} {
		if err := prune(); err != nil {
			b.Fatal(err)
		}
		storeDir, repo = b.TempDir(), reg.Addr+"/bench/"+s.repo
		cold := timeIt(b, s.build)
		warm := median(b, s.build, nil)
		rows = append(rows, row{s.name, cold, warm, median(b, s.build, edit)})
	}
	repo = reg.Addr + "/bench/embedded"
	cold := timeIt(b, embedded)
	warm := median(b, embedded, nil)
	rows = append(rows, row{"hfpack embedded builder", cold, warm, median(b, embedded, edit)})
	embeddedRow := rows[2]

	llbRow, dock := rows[0], rows[1]
	var out strings.Builder
	fmt.Fprintf(&out, "\nbench-buildkit: %d wheels (%d MB of files), %d MB of weights, 1 base with pip; cold = after buildctl prune --all (hfpack: empty build cache)\n",
		*nWheels, *wheelMB, *modelMB)
	if *push {
		fmt.Fprintf(&out, "%d files in the wheels; every build pushes REG/bench/BUILDER:latest to a loopback docker-registry: hfpack publishes as hfpack build --push does (LLB: the daemon pushes the image by digest, hfpack moves the tag); Dockerfile: buildctl --output type=image,push=true,rewrite-timestamp=true\n", nFiles(*wheelMB, *nWheels, *fileKB))
	} else {
		fmt.Fprintf(&out, "hfpack: build, then publish into a new OCI layout (LLB: the daemon exports into the build cache's store); Dockerfile: buildctl --output type=oci,dest=NEW.tar,rewrite-timestamp=true\n")
	}
	fmt.Fprintf(&out, "warm and handler edit: the median of %d runs each; load average: %s at the start, %s at the end\n", max(*reps, 1), loadStart, loadavg())
	tw := tabwriter.NewWriter(&out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "builder\tcold\twarm\thandler edit\tcold vs Dockerfile\twarm vs Dockerfile\tedit vs Dockerfile")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.2fs\t%.2fs\t%.2fs\t%.2fx\t%.2fx\t%.2fx\n", r.name, r.cold.Seconds(), r.warm.Seconds(), r.edit.Seconds(),
			dock.cold.Seconds()/r.cold.Seconds(), dock.warm.Seconds()/r.warm.Seconds(), dock.edit.Seconds()/r.edit.Seconds())
	}
	tw.Flush()
	fmt.Fprintf(&out, "(ratios > 1: faster than the Dockerfile; embedded vs hfpack LLB: cold %.2fx, warm %.2fx, edit %.2fx)\n",
		llbRow.cold.Seconds()/embeddedRow.cold.Seconds(), llbRow.warm.Seconds()/embeddedRow.warm.Seconds(), llbRow.edit.Seconds()/embeddedRow.edit.Seconds())
	fmt.Print(out.String())
	b.ReportMetric(dock.cold.Seconds()/llbRow.cold.Seconds(), "llb-cold-speedup")
	b.ReportMetric(dock.warm.Seconds()/llbRow.warm.Seconds(), "llb-warm-speedup")
}
