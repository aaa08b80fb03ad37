package bench

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hfpack/hfpack/builder"
	hfllb "github.com/hfpack/hfpack/builder/llb"
	"github.com/hfpack/hfpack/builder/llb/install"
	"github.com/hfpack/hfpack/builder/publish"
	"github.com/hfpack/hfpack/e2e/harness"
	"github.com/hfpack/hfpack/lockfile/indextest"
)

var (
	daemonProf     = flag.String("daemon-prof-out", "", "BenchmarkLLBCold: write a CPU profile of buildkitd during the first cold build to this file")
	daemonProfSecs = flag.Int("daemon-prof-secs", 40, "BenchmarkLLBCold: seconds of the daemon's CPU profile")
	showProgress   = flag.Bool("progress", false, "BenchmarkLLBCold: print BuildKit's whole progress stream")
	installerBin   = flag.String("installer", "", "BenchmarkLLBCold: the static hfpack-install binary the ExecOp runs (default: built from this tree)")
	beforeBin      = flag.String("before-installer", "", "BenchmarkLLBCold: alternate runs as hfpack built before: this installer binary, exporting into the store and pushing from there (-via-store)")
	viaStore       = flag.Bool("via-store", false, "BenchmarkLLBCold: export into the store and push from it, instead of having the daemon push (hfpack's path before llb.WithDaemonPush)")
)

// BenchmarkLLBCold times only what BenchmarkBuildKit's LLB cold run times
// with -push (`buildctl prune --all` and an empty export store, then the
// build and a push to a new repository of a loopback registry, as `hfpack
// build --builder buildkit --push` does), -reps times, split into the
// build (the solve, with the daemon's push) and the publish (the tag), and
// prints the slowest of BuildKit's steps: a quick loop for profiling the
// cold LLB build.
//
//	go test ./builder/llb/bench -run '^$' -bench LLBCold -benchtime 1x -args \
//	    -wheels 28 -wheel-mb 956 -file-kb 16 -model-mb 256 [-daemon-prof-out bk.out]
func BenchmarkLLBCold(b *testing.B) {
	reg := harness.StartRegistry(b)
	debug := ""
	var bkOpts []harness.BuildKitOption
	bkOpts = append(bkOpts, harness.WithInsecureRegistry(reg.Addr))
	if *daemonProf != "" {
		debug = "127.0.0.1:6061"
		bkOpts = append(bkOpts, harness.WithDebugAddr(debug))
	}
	bk := harness.StartBuildKit(b, bkOpts...)
	plan, urls := coldFixture(b, reg)
	ctx := context.Background()
	inst := *installerBin
	if inst == "" {
		inst = installer(b)
	}
	if out, err := bk.Buildctl(ctx, nil, "debug", "workers", "-v"); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "snapshotter") {
				fmt.Println("buildkitd worker:", strings.TrimSpace(l))
			}
		}
	}
	if *profOut != "" {
		f, err := os.Create(*profOut)
		if err != nil {
			b.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var digests []string
	for i := range max(*reps, 1) {
		if _, err := bk.Buildctl(ctx, nil, "prune", "--all"); err != nil {
			b.Fatal(err)
		}
		store, err := hfllb.OpenStore(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		var progress bytes.Buffer
		repo := fmt.Sprintf("%s/bench/llbcold%d", reg.Addr, i)
		opts := []hfllb.SolveOption{hfllb.WithInstaller(inst), hfllb.WithProgress(&progress),
			hfllb.WithLowerOptions(hfllb.WithWheelURLs(func(w builder.WheelRef) string { return urls[w.SHA256] }))}
		mode := ""
		before := *beforeBin != "" && i%2 == 0
		if before {
			mode = " (before: " + filepath.Base(*beforeBin) + ", via the store)"
			opts[0] = hfllb.WithInstaller(*beforeBin)
		}
		if !*viaStore && !before {
			opts = append(opts, hfllb.WithDaemonPush(repo))
		}
		be := hfllb.NewBackend(bk.Addr, store, opts...)
		profDone := make(chan error, 1)
		if debug != "" && i == 0 {
			go func() { profDone <- daemonProfile(debug, *daemonProf, *daemonProfSecs) }()
		} else {
			profDone <- nil
		}
		t0 := time.Now()
		r, err := be.Build(ctx, plan)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		_, err = publish.Publish(ctx, r.Image, publish.Target{Kind: publish.Registry, Ref: repo + ":latest"})
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		d, _ := r.Image.Digest()
		digests = append(digests, d.String())
		fmt.Printf("llb cold %d%s: build %.2fs publish %.2fs total %.2fs load %s image %s\n", i, mode, t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds(), t2.Sub(t0).Seconds(), loadavg(), d)
		if m, err := r.Image.Manifest(); err == nil {
			for _, l := range m.Layers {
				fmt.Printf("  layer %12d %s\n", l.Size, l.Digest)
			}
		}
		if cf, err := r.Image.RawConfigFile(); err == nil {
			fmt.Printf("  config %s\n", cf)
		}
		if *showProgress {
			fmt.Print(progress.String())
		} else {
			printSteps(os.Stdout, progress.String())
		}
		if err := <-profDone; err != nil {
			b.Logf("daemon profile: %v", err)
		}
	}
	if len(slices.Compact(slices.Clone(digests))) > 1 {
		b.Fatalf("cold builds gave different images: %v", digests)
	}
}

// daemonProfile saves seconds of buildkitd's CPU profile from its debug address.
func daemonProfile(addr, out string, seconds int) error {
	time.Sleep(200 * time.Millisecond)
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, seconds))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var (
	stepName = regexp.MustCompile(`^#(\d+) (\[.*|hfpack.*|exporting.*|.*)$`)
	stepDone = regexp.MustCompile(`^#(\d+) DONE ([0-9.]+)s$`)
)

// printSteps prints the steps of a plain progress stream that took at
// least 0.1 s, slowest first.
func printSteps(w io.Writer, progress string) {
	names := map[string]string{}
	type step struct {
		name string
		secs float64
	}
	var steps []step
	sc := bufio.NewScanner(strings.NewReader(progress))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if m := stepDone.FindStringSubmatch(l); m != nil {
			s, _ := strconv.ParseFloat(m[2], 64)
			steps = append(steps, step{names[m[1]], s})
			continue
		}
		if m := stepName.FindStringSubmatch(l); m != nil {
			if _, ok := names[m[1]]; !ok {
				names[m[1]] = m[2]
			}
		}
	}
	slices.SortStableFunc(steps, func(a, b step) int { return -cmpFloat(a.secs, b.secs) })
	for _, s := range steps {
		if s.secs >= 0.1 {
			fmt.Fprintf(w, "  %7.2fs %s\n", s.secs, s.name)
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// BenchmarkInstaller times the installer the site-packages ExecOp runs
// (the static binary, as the ExecOp runs it) on the fixture's wheels into a
// new directory, -reps times, with the CPU it used: the ExecOp's share of a
// cold LLB build, without buildkitd. With -installer OTHER, each rep runs
// OTHER too, alternating which goes first.
func BenchmarkInstaller(b *testing.B) {
	srv := indextest.NewServer()
	b.Cleanup(srv.Close)
	base := builder.BaseInput{Ref: "example.invalid/base", Digest: "sha256:" + strings.Repeat("0", 64),
		Python: "/usr/bin/python3", SitePackages: "/usr/lib/python3/dist-packages"}
	in, _ := project(b, b.TempDir(), base, "example.invalid/base", srv)
	plan, err := builder.NewPlan(context.Background(), in)
	if err != nil {
		b.Fatal(err)
	}
	var wheels []install.Wheel
	for _, lp := range plan.Layers {
		for _, w := range lp.Wheels {
			wheels = append(wheels, install.Wheel{Path: w.Source, SHA256: w.SHA256, Filename: w.Filename})
		}
	}
	bins := []string{installer(b)}
	if *installerBin != "" {
		bins = append(bins, *installerBin)
	}
	for i := range max(*reps, 1) {
		for k := range bins {
			bin := bins[(i+k)%len(bins)]
			out := b.TempDir()
			args, err := install.Args(builder.SchemeFor(plan.Base), epoch, out, wheels)
			if err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command(bin, append([]string{"internal", "install-wheels"}, args...)...)
			cmd.Stderr = os.Stderr
			t0 := time.Now()
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
			wall := time.Since(t0)
			u, s := cmd.ProcessState.UserTime(), cmd.ProcessState.SystemTime()
			fmt.Printf("installer %d %s: %.2fs wall, %.2fs CPU (user %.2fs, system %.2fs) load %s\n", i, filepath.Base(bin), wall.Seconds(),
				(u + s).Seconds(), u.Seconds(), s.Seconds(), loadavg())
		}
	}
}
