package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/publish"
	"github.com/hfpack/hfpack/e2e/harness"
)

var profOut = flag.String("prof-out", "", "BenchmarkEmbeddedCold: write a CPU profile of the timed builds and pushes to this file")

// BenchmarkEmbeddedCold times only what BenchmarkBuildKit's embedded cold
// run times with -push (an empty build cache, then a push to a new
// repository of a loopback registry), -reps times, split into the build and
// the push, without buildkitd: a quick loop for profiling the cold build.
//
//	go test ./builder/llb/bench -run '^$' -bench EmbeddedCold -benchtime 1x -args \
//	    -wheels 28 -wheel-mb 956 -file-kb 16 -model-mb 256 -prof-out cpu.out
func BenchmarkEmbeddedCold(b *testing.B) {
	reg := harness.StartRegistry(b)
	plan, _ := coldFixture(b, reg)
	ctx := context.Background()
	if *profOut != "" {
		f, err := os.Create(*profOut)
		if err != nil {
			b.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	for i := range max(*reps, 1) {
		c, err := cache.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		// As hfpack build --push does: each layer is pushed as soon as it
		// is written; the push after the build sends what is left.
		target := publish.Target{Kind: publish.Registry, Ref: fmt.Sprintf("%s/bench/cold%d:latest", reg.Addr, i)}
		t0 := time.Now()
		pre, err := publish.NewPrepush(ctx, target)
		if err != nil {
			b.Fatal(err)
		}
		img, err := builder.Embedded(builder.WithCache(c), builder.WithLayerReady(pre.Add)).Build(ctx, plan)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := pre.Wait(); err != nil {
			b.Fatal(err)
		}
		_, err = publish.Publish(ctx, img.Image, target)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		fmt.Printf("embedded cold %d: build (layers pushed as written) %.2fs, then push %.2fs, total %.2fs load %s\n", i, t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds(), t2.Sub(t0).Seconds(), loadavg())
		if i == 0 {
			for _, l := range img.Layers {
				fmt.Printf("  layer %-20s %12d %s\n", l.Name, l.Size, l.Digest)
			}
		}
	}
}
