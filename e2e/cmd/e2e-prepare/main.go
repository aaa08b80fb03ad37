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
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hfpack/hfpack/e2e/harness"
)

func main() {
	buildkit := flag.Bool("buildkit", true, "build buildkitd and buildctl")
	base := flag.Bool("base", true, "build the base image (debootstrap; needs root)")
	baseOut := flag.String("base-layout", "", "also copy the base image's OCI layout to this directory")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *buildkit, *base, *baseOut); err != nil {
		fmt.Fprintln(os.Stderr, "e2e-prepare:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, buildkit, base bool, baseOut string) error {
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
		if baseOut != "" {
			if err := copyLayout(b.Layout, baseOut); err != nil {
				return err
			}
			fmt.Printf("base layout copied to %s\n", baseOut)
		}
	}
	return nil
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }

// copyLayout copies an OCI layout directory to dst through a temporary
// sibling and a rename, so dst is never half-written.
func copyLayout(src, dst string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".layout-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(tmp, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, in); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
