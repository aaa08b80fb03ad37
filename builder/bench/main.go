package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/layer"
)

func main() {
	size := flag.String("size", "1GiB", "size of each half of the fixture (wheels, weights): 256MiB, 1GiB, ...")
	weights := flag.String("weights", "none", "compression of model layers: none, zstd or gzip")
	code := flag.String("code", "gzip", "compression of code layers: gzip, zstd or none")
	keep := flag.Bool("keep", false, "keep the fixture directory")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the cold build to this file")
	flag.Parse()
	if err := run(*size, *weights, *code, *keep); err != nil {
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

func run(sizeFlag, weightsFlag, codeFlag string, keep bool) error {
	size, err := parseSize(sizeFlag)
	if err != nil {
		return err
	}
	wc, err := layer.ParseCompression(weightsFlag)
	if err != nil {
		return err
	}
	cc, err := layer.ParseCompression(codeFlag)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "hfpack-bench-*")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	fmt.Printf("fixture: %s of wheels + %s of bf16 weights in %s (%d CPUs)\n", human(size), human(size), dir, runtime.NumCPU())
	fx, err := makeFixture(dir, size)
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
	cold, err := measure("cold", func() error { return profiled(func() error { return build(in, c) }) })
	if err != nil {
		return err
	}
	noop, err := measure("no-op", func() error { return build(in, c) })
	if err != nil {
		return err
	}
	if err := os.WriteFile(fx.handler, []byte("def predict(instances):\n    return [len(i) for i in instances]\n"), 0o644); err != nil {
		return err
	}
	handler, err := measure("handler", func() error { return build(in, c) })
	if err != nil {
		return err
	}
	// The machine may be shared: measure the bound again, keep the faster.
	if again, err := measure("bound", func() error { return lowerBound(fx, cc, wc) }); err == nil && again.wall < bound.wall {
		bound = again
	}
	fmt.Printf("lower bound (one sha256 pass + %s of code, %s of weights, %d cores): %v wall, %v CPU\n",
		cc, wc, runtime.GOMAXPROCS(0), bound.wall, bound.cpu)
	fmt.Printf("(a) cold build:      %v wall = %.2fx the bound (target <= 1.5x); %v CPU = %.2fx\n",
		cold.wall, ratio(cold.wall, bound.wall), cold.cpu, ratio(cold.cpu, bound.cpu))
	fmt.Printf("(b) no-op rebuild:   %v (target < 1 s) = %.4fx the cold build\n", noop.wall, ratio(noop.wall, cold.wall))
	fmt.Printf("(c) handler rebuild: %v = %.4fx the cold build\n", handler.wall, ratio(handler.wall, cold.wall))
	fmt.Printf("(d) peak RSS:        %s (target < 256 MiB)\n", human(peakRSS()))
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
func build(in builder.Inputs, c *cache.Cache) error {
	ctx := context.Background()
	plan, err := builder.NewPlan(ctx, in, builder.WithCache(c))
	if err != nil {
		return err
	}
	img, err := builder.Build(ctx, plan, builder.WithCache(c), builder.WithWheelInstaller(installChunks),
		builder.WithBaseImage(empty.Image))
	if err != nil {
		return err
	}
	_, err = img.Digest()
	return err
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
