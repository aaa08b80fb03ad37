// Command e2e-prepare fills the e2e harness cache ahead of the tests: it builds the buildkitd and
// buildctl binaries from the buildkit module in go.mod and the Debian base image with CPython, and
// prints where they are and how long each took. It is run by e2e/setup.sh (and `make buildkit`);
// run it from inside this module. The cache is $HFPACK_E2E_CACHE or the user cache directory's
// hfpack-e2e.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hfpack/hfpack/e2e/harness"
)

func main() {
	buildkit := flag.Bool("buildkit", true, "build buildkitd and buildctl")
	base := flag.Bool("base", true, "build the base image (debootstrap; needs root)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *buildkit, *base); err != nil {
		fmt.Fprintln(os.Stderr, "e2e-prepare:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, buildkit, base bool) error {
	cache, err := harness.CacheDir()
	if err != nil {
		return err
	}
	fmt.Println("cache:", cache)
	if buildkit {
		start := time.Now()
		bins, err := harness.EnsureBuildKitBinaries(ctx, cache)
		if err != nil {
			return err
		}
		fmt.Printf("buildkitd: %s\nbuildctl: %s\n(buildkit binaries ready in %s)\n", bins.Buildkitd, bins.Buildctl, since(start))
	}
	if base {
		start := time.Now()
		spec := harness.DefaultBase()
		b, err := harness.EnsureBase(ctx, cache, spec)
		if err != nil {
			return err
		}
		fmt.Printf("base %s %v from %s: %s@%s\n(base image ready in %s)\n", spec.Suite, spec.Packages, spec.Mirror, b.Layout, b.Digest, since(start))
	}
	return nil
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }
