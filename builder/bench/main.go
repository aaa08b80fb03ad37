package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/layer"
)

func main() {
	size := flag.String("size", "1GiB", "size of the model weights, in 4 shards of 5:4:4:3 (16GiB: 5, 4, 4 and 3 GiB)")
	wheelsSize := flag.String("wheels", "", "size of the wheels (default: a quarter of -size)")
	files := flag.Int("files", 0, "installed files in all wheels (default: 60,000 per 4 GiB of wheels, at least 1,000)")
	weights := flag.String("weights", "none", "compression of model layers: none, zstd or gzip")
	code := flag.String("code", "gzip", "compression of code layers: gzip, zstd or none")
	push := flag.Bool("push", false, "also push to a loopback registry (docker-registry) and compare with skopeo copy of the same OCI layout")
	keep := flag.Bool("keep", false, "keep the fixture directory")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the cold build to this file")
	flag.Parse()
	if err := run(*size, *wheelsSize, *files, *weights, *code, *push, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "KB": 1e3, "MB": 1e6, "GB": 1e9} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSuffix(s, suffix), m
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return int64(n * float64(mult)), nil
}

func run(sizeFlag, wheelsFlag string, files int, weightsFlag, codeFlag string, push, keep bool) error {
	size, err := parseSize(sizeFlag)
	if err != nil {
		return err
	}
	wheels := size / 4
	if wheelsFlag != "" {
		if wheels, err = parseSize(wheelsFlag); err != nil {
			return err
		}
	}
	if files <= 0 {
		files = max(1000, int(60000*wheels/(4<<30)))
	}
	chunk = max(1, wheels/int64(files))
	wc, err := layer.ParseCompression(weightsFlag)
	if err != nil {
		return err
	}
	cc, err := layer.ParseCompression(codeFlag)
	if err != nil {
		return err
	}
	if push {
		for _, bin := range []string{"docker-registry", "skopeo"} {
			if _, err := exec.LookPath(bin); err != nil {
				return fmt.Errorf("-push needs %s (bash e2e/setup.sh installs it): %w", bin, err)
			}
		}
	}
	dir, err := os.MkdirTemp("", "hfpack-bench-*")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	fmt.Printf("fixture: %s of wheels (%d installed files of %s) + %s of bf16 weights in %d shards, in %s (%d CPUs)\n",
		human(wheels), files, human(chunk), human(size), len(shardShares), dir, runtime.NumCPU())
	fx, err := makeFixture(dir, wheels, size)
	if err != nil {
		return err
	}
	in := fx.inputs
	in.Compression = builder.Compression{Code: cc, Weights: wc}
	c, err := cache.Open(dir + "/cache")
	if err != nil {
		return err
	}
	bound, err := measure("bound", func() error { return lowerBound(fx, cc, wc) })
	if err != nil {
		return err
	}
	var img v1.Image
	cold, err := measure("cold", func() error {
		return profiled(func() (err error) { img, err = build(in, c); return err })
	})
	if err != nil {
		return err
	}
	coldRSS := peakRSS()
	noop, err := measure("no-op", func() error { _, err := build(in, c); return err })
	if err != nil {
		return err
	}
	if err := os.WriteFile(fx.handler, []byte("def predict(instances):\n    return [len(i) for i in instances]\n"), 0o644); err != nil {
		return err
	}
	handler, err := measure("handler", func() error { _, err := build(in, c); return err })
	if err != nil {
		return err
	}
	// The machine may be shared: measure the bound again, keep the faster.
	if again, err := measure("bound", func() error { return lowerBound(fx, cc, wc) }); err == nil && again.wall < bound.wall {
		bound = again
	}
	var pushed *pushResult
	if push {
		if pushed, err = comparePush(dir, img); err != nil {
			return err
		}
	}
	fmt.Printf("lower bound (one sha256 pass + %s of code, %s of weights, %d cores): %v wall, %v CPU\n",
		cc, wc, runtime.GOMAXPROCS(0), bound.wall, bound.cpu)
	fmt.Printf("(a) cold build:      %v wall = %.2fx the bound (target <= 1.2x); %v CPU = %.2fx\n",
		cold.wall, ratio(cold.wall, bound.wall), cold.cpu, ratio(cold.cpu, bound.cpu))
	fmt.Printf("(b) no-op rebuild:   %v (target < 1 s) = %.4fx the cold build\n", noop.wall, ratio(noop.wall, cold.wall))
	fmt.Printf("(c) handler rebuild: %v = %.4fx the cold build\n", handler.wall, ratio(handler.wall, cold.wall))
	fmt.Printf("(d) peak RSS:        %s after the cold build, %s at the end (target < 256 MiB)\n", human(coldRSS), human(peakRSS()))
	if pushed != nil {
		fmt.Printf("(e) push:            hfpack %v vs skopeo copy of the same OCI layout %v = %.2fx (target <= 1.3x); again with every blob present: %v, %d blobs uploaded\n",
			pushed.hfpack, pushed.skopeo, ratio(pushed.hfpack, pushed.skopeo), pushed.again, pushed.againUploads)
	}
	return nil
}

var cpuProfile string

// profiled runs f under the CPU profiler when -cpuprofile is set.
func profiled(f func() error) error {
	if cpuProfile == "" {
		return f()
	}
	out, err := os.Create(cpuProfile)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := pprof.StartCPUProfile(out); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return f()
}

func ratio(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }

// timing is the wall and CPU time of one step.
type timing struct{ wall, cpu time.Duration }

// measure runs f and prints and returns its wall and CPU time.
func measure(name string, f func() error) (timing, error) {
	start, cpu0 := time.Now(), cpuTime()
	err := f()
	t := timing{time.Since(start).Round(time.Millisecond), (cpuTime() - cpu0).Round(time.Millisecond)}
	fmt.Printf("    %-8s %v wall, %v CPU\n", name+":", t.wall, t.cpu)
	return t, err
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// build plans and builds in on an empty base and computes the image digest.
func build(in builder.Inputs, c *cache.Cache) (v1.Image, error) {
	ctx := context.Background()
	plan, err := builder.NewPlan(ctx, in, builder.WithCache(c))
	if err != nil {
		return nil, err
	}
	img, err := builder.Build(ctx, plan, builder.WithCache(c), builder.WithWheelInstaller(installChunks),
		builder.WithBaseImage(empty.Image))
	if err != nil {
		return nil, err
	}
	_, err = img.Digest()
	return img, err
}

func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss << 10 // kilobytes on Linux
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
