// Command refresh re-resolves the base image catalog's digests and runtime
// checksums where the network allows, and rewrites the data files sorted.
//
// It runs from `go generate ./baseimages` (or `go run ./baseimages/cmd/refresh
// -data baseimages/data`). Image digests come from a registry HEAD of each
// repository:tag (go-containerregistry remote.Head, credentials from the
// Docker config); runtime checksums from each python-build-standalone
// release's SHA256SUMS; -python-release TAG moves every runtime row to that
// python-build-standalone release's newest build of its Python and arch. Rows it cannot reach keep their data and stay
// marked unverified. With -offline it only rewrites the files canonically.
// Tests never run it.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hfpack/hfpack/baseimages"
	"github.com/hfpack/hfpack/internal/fsio"
)

func main() {
	dir := flag.String("data", "data", "the catalog's data directory")
	offline := flag.Bool("offline", false, "only rewrite the data files sorted and formatted")
	release := flag.String("python-release", "", "move the Python runtimes to this python-build-standalone release (e.g. 20260814)")
	timeout := flag.Duration("timeout", 5*time.Minute, "overall network timeout")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, *dir, *offline, *release, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "refresh:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir string, offline bool, release string, log io.Writer) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	cat, err := baseimages.Load(os.DirFS(filepath.Dir(abs)))
	if err != nil {
		return err
	}
	if !offline {
		today := time.Now().UTC().Format("2006-01-02")
		refreshImages(ctx, cat, today, log)
		refreshRuntimes(ctx, cat, release, today, log)
	}
	if err := cat.Check(); err != nil {
		return err
	}
	files, err := cat.DataFiles()
	if err != nil {
		return err
	}
	for name, b := range files {
		if err := writeFile(filepath.Join(abs, name), b); err != nil {
			return err
		}
	}
	return nil
}

// refreshImages resolves each image's tag to its current digest.
func refreshImages(ctx context.Context, cat *baseimages.Catalog, today string, log io.Writer) {
	for i := range cat.Images {
		im := &cat.Images[i]
		ref, err := name.ParseReference(im.Repository + ":" + im.Tag)
		if err != nil {
			fmt.Fprintf(log, "skip %s:%s: %v\n", im.Repository, im.Tag, err)
			continue
		}
		desc, err := remote.Head(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
		if err != nil {
			fmt.Fprintf(log, "keep %s: %v\n", ref, err)
			continue
		}
		if d := desc.Digest.String(); d != im.Digest || !im.DigestVerified {
			fmt.Fprintf(log, "%s: %s -> %s\n", ref, im.Digest, d)
			im.Digest, im.DigestVerified = d, true
			im.Source = fmt.Sprintf("registry HEAD of %s by cmd/refresh on %s", ref, today)
		}
	}
}

// refreshRuntimes reads each runtime's sha256 from its release's SHA256SUMS.
// With release set (a python-build-standalone release tag, e.g. 20260814),
// each row moves to that release's newest build of its Python minor and
// arch: the archive's file name gives the full version, SHA256SUMS the
// sha256. Rows the release has no build for stay as they are.
func refreshRuntimes(ctx context.Context, cat *baseimages.Catalog, release, today string, log io.Writer) {
	sums := map[string]map[string]string{}
	sumsOf := func(dir string) map[string]string {
		if _, ok := sums[dir]; !ok {
			s, err := fetchSums(ctx, dir+"SHA256SUMS")
			if err != nil {
				fmt.Fprintf(log, "keep runtimes of %s: %v\n", dir, err)
			}
			sums[dir] = s
		}
		return sums[dir]
	}
	for i := range cat.Runtimes {
		rt := &cat.Runtimes[i]
		dir, file := path.Split(rt.URL)
		if release != "" {
			parent := strings.TrimSuffix(dir, "/")
			dir = parent[:strings.LastIndex(parent, "/")+1] + release + "/"
			name, ok := newestBuild(sumsOf(dir), rt.Python, rt.Arch, release)
			if !ok {
				fmt.Fprintf(log, "keep %s %s: release %s has no install_only_stripped build\n", rt.Python, rt.Arch, release)
				continue
			}
			rt.Version = strings.TrimPrefix(strings.SplitN(name, "+", 2)[0], "cpython-")
			rt.URL = dir + strings.ReplaceAll(name, "+", "%2B") // as GitHub lists the asset
			file = name
			rt.SHA256Verified = false
		}
		file, _ = url.PathUnescape(file)
		if sum, ok := sumsOf(dir)[file]; ok && (sum != rt.SHA256 || !rt.SHA256Verified) {
			fmt.Fprintf(log, "%s: sha256 %s\n", file, sum)
			rt.SHA256, rt.SHA256Verified = sum, true
			rt.Source = fmt.Sprintf("python-build-standalone release %s install_only_stripped (glibc %s); sha256 from the release's SHA256SUMS, read by cmd/refresh on %s", path.Base(dir), rt.Glibc, today)
		}
	}
}

// newestBuild finds, in a release's SHA256SUMS, the install_only_stripped
// archive of the newest CPython python.N for arch.
func newestBuild(sums map[string]string, python, arch, release string) (string, bool) {
	best, bestPatch := "", -1
	suffix := "+" + release + "-" + arch + "-unknown-linux-gnu-install_only_stripped.tar.gz"
	for name := range sums {
		rest, ok := strings.CutPrefix(name, "cpython-"+python+".")
		if !ok {
			continue
		}
		patch, ok := strings.CutSuffix(rest, suffix)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(patch)
		if err != nil {
			continue // a pre-release (3.15.0a1) or a free-threaded build
		}
		if n > bestPatch {
			best, bestPatch = name, n
		}
	}
	return best, best != ""
}

// fetchSums reads a "HEX  FILENAME" checksum list.
func fetchSums(ctx context.Context, u string) (map[string]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 16<<20))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && len(f[0]) == 64 {
			out[strings.TrimPrefix(f[1], "*")] = strings.ToLower(f[0])
		}
	}
	return out, sc.Err()
}

// writeFile replaces path atomically.
func writeFile(p string, b []byte) error {
	return fsio.WriteFile(p, b, 0o644)
}
