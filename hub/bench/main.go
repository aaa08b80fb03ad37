// Command bench measures how fast hfpack fetches a Hub model: a model of
// -size bytes from the stand-in Hub (hubtest) with -latency added to every
// request and each connection capped at -rate bytes per second, as a CDN
// serves one stream. It fetches the model twice, each time in a fresh
// child process with an empty cache: once as one sequential stream per
// file (the baseline), once with hfpack's parallel ranged fetcher. It
// prints both times, their ratio and each child's peak RSS.
//
//	go run ./hub/bench -size 4GiB      # make bench-hub
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/hfpack/hfpack/hub"
	"github.com/hfpack/hfpack/hub/hubtest"
)

var cacheParent string

type childSpec struct {
	Endpoint    string
	Dir         string
	Connections int
	ChunkSize   int64
	Snapshot    *hub.Snapshot
}

func main() {
	size := flag.String("size", "4GiB", "model size (two safetensors shards)")
	latency := flag.Duration("latency", 20*time.Millisecond, "latency added to every request")
	rate := flag.String("rate", "50MB", "bytes per second per connection")
	conns := flag.Int("connections", hub.DefaultConnections, "parallel connections of the fetcher")
	chunk := flag.String("chunk", "64MiB", "bytes per ranged request of the fetcher")
	flag.StringVar(&cacheParent, "dir", os.TempDir(), "where the fetches' caches go (a disk slower than the network caps both; /dev/shm measures the network side)")
	flag.Parse()
	if spec := os.Getenv("HFPACK_BENCH_HUB_CHILD"); spec != "" {
		os.Exit(child(spec))
	}
	total, err1 := hubtest.ParseSize(*size)
	bps, err2 := hubtest.ParseSize(*rate)
	chunkSize, err3 := hubtest.ParseSize(*chunk)
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(2)
		}
	}
	if err := run(total, bps, chunkSize, *conns, *latency); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(total, bps, chunk int64, conns int, latency time.Duration) error {
	fmt.Printf("stand-in Hub: %s model in 2 shards, %s added latency per request, %s/s per connection; caches in %s\n", hubtest.HumanSize(total), latency, hubtest.HumanSize(bps), cacheParent)
	s := hubtest.New(hubtest.Options{Latency: latency, BytesPerSecond: bps})
	defer s.Close()
	half := total / 2
	s.Commit("bench/model", "main", map[string]hubtest.Content{
		"config.json":                      hubtest.Bytes([]byte(`{"model_type":"bert"}`)),
		"model-00001-of-00002.safetensors": hubtest.Pattern(half, 1),
		"model-00002-of-00002.safetensors": hubtest.Pattern(total-half, 2),
	})
	c, err := hub.NewClient(s.URL)
	if err != nil {
		return err
	}
	snap, err := c.Resolve(context.Background(), "bench/model", "main", hub.Selection{})
	if err != nil {
		return err
	}
	seq, err := fetch(s.URL, snap, 1, 1<<62)
	if err != nil {
		return fmt.Errorf("sequential: %w", err)
	}
	fmt.Printf("one sequential stream:  %6.1fs  %7.1f MB/s  peak RSS %5.1f MiB  CPU %.1fs\n", seq.secs, float64(total)/seq.secs/1e6, seq.rssMiB, seq.cpu)
	par, err := fetch(s.URL, snap, conns, chunk)
	if err != nil {
		return fmt.Errorf("parallel: %w", err)
	}
	fmt.Printf("hfpack (%d conns, %s): %6.1fs  %7.1f MB/s  peak RSS %5.1f MiB  CPU %.1fs\n", conns, hubtest.HumanSize(chunk), par.secs, float64(total)/par.secs/1e6, par.rssMiB, par.cpu)
	ratio := seq.secs / par.secs
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average during the run: %s (a saturated machine caps the parallel fetch: compare the CPU seconds)\n", strings.Join(strings.Fields(string(load))[:3], " "))
	}
	fmt.Printf("speedup: %.1fx (goal >= 4x: %s); peak RSS %.1f MiB (goal < 128 MiB: %s)\n",
		ratio, verdict(ratio >= 4), par.rssMiB, verdict(par.rssMiB < 128))
	if s.LeakedAuth() != 0 {
		return fmt.Errorf("the file host received a token")
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

type result struct{ secs, rssMiB, cpu float64 }

// fetch runs one fetch in a child process with an empty cache and returns
// its wall time and peak RSS.
func fetch(endpoint string, snap *hub.Snapshot, conns int, chunk int64) (result, error) {
	dir, err := os.MkdirTemp(cacheParent, "hfpack-bench-hub-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	spec, _ := json.Marshal(childSpec{Endpoint: endpoint, Dir: dir, Connections: conns, ChunkSize: chunk, Snapshot: snap})
	u, err := hubtest.RunChild("HFPACK_BENCH_HUB_CHILD=" + string(spec))
	if err != nil {
		return result{}, err
	}
	return result{secs: u.Secs, rssMiB: u.RSSMiB, cpu: u.CPU}, nil
}

func child(raw string) int {
	var cs childSpec
	if err := json.Unmarshal([]byte(raw), &cs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	c, err := hub.NewClient(cs.Endpoint)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if p := os.Getenv("HFPACK_BENCH_CPUPROFILE"); p != "" && cs.Connections > 1 {
		out, err := os.Create(p)
		if err == nil {
			pprof.StartCPUProfile(out)
			defer pprof.StopCPUProfile()
		}
	}
	f := &hub.Fetcher{Client: c, Dir: cs.Dir, Connections: cs.Connections, ChunkSize: cs.ChunkSize}
	dir, err := f.Snapshot(context.Background(), cs.Snapshot)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
