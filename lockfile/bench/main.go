// Command bench times `hfpack lock` against `pip install --dry-run --report`
// resolving the same requirements from the same loopback indexes: a
// synthetic Hugging Face stack (Stack) on a PyPI-style index and torch with
// its CUDA libraries on a PyTorch-style one. Each tool runs cold (an empty
// cache) and warm (the cache of an earlier run) several times; the medians
// and the ratios pip/hfpack are printed, with a check that both chose the
// same versions.
//
//	go run ./lockfile/bench -hfpack bin/hfpack
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hfpack/hfpack/lockfile/indextest"
	"github.com/hfpack/hfpack/lockfile/pylock"
)

func main() {
	hfpack := flag.String("hfpack", "", "hfpack binary (default: go build ./cmd/hfpack into a temporary directory)")
	python := flag.String("python", "python3", "Python interpreter with pip")
	runs := flag.Int("runs", 3, "timed runs per tool and mode; the median is reported")
	verbose = flag.Bool("v", false, "print every run's time on stderr")
	serveOnly = flag.Bool("serve", false, "only serve the indexes and print their URLs (for debugging)")
	flag.DurationVar(&latency, "latency", 0, "delay added to every request and every new connection (a round trip to an index that far away)")
	flag.Parse()
	if err := run(*hfpack, *python, *runs); err != nil {
		fmt.Fprintf(os.Stderr, "bench-lock: %v\n", err)
		os.Exit(1)
	}
}

var (
	verbose, serveOnly *bool
	latency            time.Duration
)

func run(hfpack, python string, runs int) error {
	if runs < 1 {
		return errors.New("-runs must be at least 1")
	}
	work, err := os.MkdirTemp("", "hfpack-bench-lock-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if hfpack == "" {
		hfpack = filepath.Join(work, "hfpack")
		if out, err := exec.Command("go", "build", "-o", hfpack, "./cmd/hfpack").CombinedOutput(); err != nil {
			return fmt.Errorf("building hfpack (run from the repository root): %v\n%s", err, out)
		}
	}
	if hfpack, err = filepath.Abs(hfpack); err != nil {
		return err
	}

	// PyPI answers project pages with max-age=600; so do these indexes, so
	// that both tools may use their HTTP caches as they would in real life.
	pypi := newServer(latency, indextest.WithMaxAge(600))
	defer pypi.Close()
	torch := newServer(latency, indextest.WithMaxAge(600))
	defer torch.Close()
	stack := Stack()
	if err := Serve(stack, pypi.Index, torch.Index); err != nil {
		return err
	}
	versions := 0
	for _, p := range stack {
		versions += len(p.Versions)
	}
	manifest, err := writeProject(filepath.Join(work, "project"), pypi.URL, torch.URL, TorchPackages(stack))
	if err != nil {
		return err
	}
	if *serveOnly {
		fmt.Printf("pypi %s\ntorch %s\nmanifest %s\n", pypi.URL, torch.URL, manifest)
		select {}
	}
	fmt.Printf("bench-lock: %d projects, %d versions on two loopback indexes %s away; %d requirements; median of %d runs\n",
		len(stack), versions, latency, len(Requirements), runs)

	h := &hfpackRunner{bin: hfpack, manifest: manifest, work: work}
	p := &pipRunner{python: python, index: pypi.URL, extra: torch.URL, work: work}
	var rows []row
	requests := func() int64 { return pypi.requests.Load() + torch.requests.Load() }
	for _, r := range []runner{h, p} {
		before := requests()
		cold, err := timeRuns(runs, func(i int) error { return r.run(fmt.Sprintf("cold-%d", i), "") })
		if err != nil {
			return err
		}
		warmCache := filepath.Join(work, r.name()+"-warm-cache")
		if err := r.run("prime", warmCache); err != nil {
			return err
		}
		coldRequests := (requests() - before) / int64(runs)
		before = requests()
		warm, err := timeRuns(runs, func(i int) error { return r.run(fmt.Sprintf("warm-%d", i), warmCache) })
		if err != nil {
			return err
		}
		rows = append(rows, row{r.name(), cold, warm, coldRequests, (requests() - before) / int64(runs)})
	}
	fmt.Printf("%-8s %12s %12s %16s %16s\n", "tool", "cold", "warm", "cold requests", "warm requests")
	for _, r := range rows {
		fmt.Printf("%-8s %12s %12s %16d %16d\n", r.name, r.cold.Round(time.Millisecond), r.warm.Round(time.Millisecond), r.coldRequests, r.warmRequests)
	}
	fmt.Printf("ratio pip/hfpack: cold %.1fx, warm %.1fx\n",
		float64(rows[1].cold)/float64(rows[0].cold), float64(rows[1].warm)/float64(rows[0].warm))
	return compare(h.result, p.result)
}

type row struct {
	name                       string
	cold, warm                 time.Duration
	coldRequests, warmRequests int64
}

// runner resolves the requirements once; cache "" means a fresh, empty one.
type runner interface {
	name() string
	run(label, cache string) error
}

// timeRuns returns the median duration of n runs.
func timeRuns(n int, f func(i int) error) (time.Duration, error) {
	var ds []time.Duration
	for i := range n {
		start := time.Now()
		if err := f(i); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
		if *verbose {
			fmt.Fprintf(os.Stderr, "  run %d: %s\n", i, ds[i].Round(time.Millisecond))
		}
	}
	slices.Sort(ds)
	return ds[len(ds)/2], nil
}

// writeProject writes the manifest the benchmark locks, with a tiny model.
func writeProject(dir, pypi, torch string, torchPkgs []string) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "model"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "model", "config.json"), []byte(`{"model_type": "bert"}`+"\n"), 0o644); err != nil {
		return "", err
	}
	quote := func(ss []string) string {
		q := make([]string, len(ss))
		for i, s := range ss {
			q[i] = fmt.Sprintf("%q", s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	toml := fmt.Sprintf(`name = "bench"

[model]
path = "model"
task = "text-classification"

[python]
version = "3.11"
requirements = %s
index-url = %q

[[python.index]]
name = "pytorch-cu121"
url = %q
packages = %s

[accelerator]
type = "cpu"
`, quote(Requirements), pypi, torch, quote(torchPkgs))
	path := filepath.Join(dir, "hfpack.toml")
	return path, os.WriteFile(path, []byte(toml), 0o644)
}

type hfpackRunner struct {
	bin, manifest, work string
	result              map[string]string
}

func (h *hfpackRunner) name() string { return "hfpack" }

func (h *hfpackRunner) run(label, cache string) error {
	if cache == "" {
		cache = filepath.Join(h.work, "hfpack-"+label)
	}
	lockPath := filepath.Join(filepath.Dir(h.manifest), pylock.FileName)
	os.Remove(lockPath) // resolve from scratch: no earlier lock to prefer
	cmd := exec.Command(h.bin, "lock", "--quiet", "--cache-dir", cache, h.manifest)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("hfpack lock: %v\n%s", err, out)
	}
	l, err := pylock.ReadFile(lockPath)
	if err != nil {
		return err
	}
	h.result = map[string]string{}
	for _, p := range l.Packages {
		h.result[p.Name] = p.Version
	}
	return nil
}

type pipRunner struct {
	python, index, extra, work string
	result                     map[string]string
}

func (p *pipRunner) name() string { return "pip" }

func (p *pipRunner) run(label, cache string) error {
	report := filepath.Join(p.work, "pip-report-"+label+".json")
	args := []string{"-m", "pip", "install", "--dry-run", "--quiet", "--report", report, "--ignore-installed",
		"--only-binary", ":all:", "--disable-pip-version-check", "--no-input",
		"--index-url", p.index, "--extra-index-url", p.extra}
	if cache == "" {
		args = append(args, "--no-cache-dir")
	} else {
		args = append(args, "--cache-dir", cache)
	}
	cmd := exec.Command(p.python, append(args, Requirements...)...)
	cmd.Env = append(os.Environ(), "PIP_CONFIG_FILE="+os.DevNull, "PYTHONDONTWRITEBYTECODE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pip install --dry-run: %v\n%s", err, out)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		return err
	}
	var r struct {
		Install []struct {
			Metadata struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"metadata"`
		} `json:"install"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("pip report: %w", err)
	}
	p.result = map[string]string{}
	for _, i := range r.Install {
		p.result[pylock.Normalize(i.Metadata.Name)] = i.Metadata.Version
	}
	return nil
}

// compare prints whether both tools chose the same versions.
func compare(h, p map[string]string) error {
	var names []string
	for n := range h {
		names = append(names, n)
	}
	for n := range p {
		if _, ok := h[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var diffs []string
	for _, n := range names {
		if h[n] != p[n] {
			diffs = append(diffs, fmt.Sprintf("  %s: hfpack %q, pip %q", n, h[n], p[n]))
		}
	}
	if len(diffs) == 0 {
		fmt.Printf("same resolution: %d packages\n", len(h))
		return nil
	}
	fmt.Printf("the resolutions differ (%d packages by hfpack, %d by pip):\n%s\n", len(h), len(p), strings.Join(diffs, "\n"))
	return nil
}
