// Command workers is bench-workers: throughput of a CPU-bound, GIL-holding
// handler (cpu_handler.py) served by the sidecar with [serving] workers = 1
// and with more workers, in one run, through the real sidecar and real
// Python workers, driven by concurrent HTTP clients. It prints each
// configuration's requests per second and the ratio to one worker. Goal on a
// 2-core machine: 2 workers at least 1.7x one.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar"
)

func main() {
	python := flag.String("python", "python3", "Python interpreter")
	workers := flag.String("workers", "1,2", "worker counts to measure, comma-separated; the first is the baseline")
	requests := flag.Int("requests", 120, "requests per measurement")
	clients := flag.Int("clients", 8, "concurrent HTTP clients")
	n := flag.Int("n", 200000, "loop iterations per request in the handler (its CPU cost)")
	rounds := flag.Int("rounds", 2, "measurements per worker count, alternating; the best is kept")
	flag.Parse()
	if err := run(*python, *workers, *requests, *clients, *n, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench-workers:", err)
		os.Exit(1)
	}
}

type server struct {
	url    string
	client *http.Client
	stop   func()
}

// workerCPU sums the CPU time its worker processes have used, from their
// pids in the health body and /proc (0 where /proc is not there).
func (s *server) workerCPU() time.Duration {
	resp, err := s.client.Get(s.url + "/health")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var st struct {
		PID     int `json:"pid"`
		Workers []struct {
			PID int `json:"pid"`
		} `json:"workers"`
	}
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return 0
	}
	pids := []int{st.PID}
	for _, w := range st.Workers {
		pids = append(pids, w.PID)
	}
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if pid == 0 || err != nil {
			continue
		}
		// Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			k, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + k
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

func run(python, workerList string, requests, clients, n, rounds int) error {
	var counts []int
	for _, s := range strings.Split(workerList, ",") {
		w, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || w < 1 {
			return fmt.Errorf("-workers %q: want counts such as 1,2", workerList)
		}
		counts = append(counts, w)
	}
	_, self, _, _ := runtime.Caller(0)
	handler := filepath.Join(filepath.Dir(self), "cpu_handler.py")
	model, err := os.MkdirTemp("", "bench-workers-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(model)
	// Every configuration runs at once, so each measurement sees the same
	// machine; only the one being measured gets requests.
	servers := make([]*server, len(counts))
	for i, w := range counts {
		s, err := serve(sidecar.Config{
			Host: "127.0.0.1", Python: python, ModelDir: model, Handler: handler,
			Workers: w, MaxBatchSize: 1, MaxBatchDelay: sidecar.Duration(time.Microsecond),
			RequestTimeout: sidecar.Duration(5 * time.Minute), MetricsPath: "-",
		})
		if err != nil {
			return err
		}
		defer s.stop()
		servers[i] = s
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("bench-workers: CPU-bound handler (%d-iteration pure-Python loop per request, batch size 1), %d requests from %d clients, best of %d; %d CPUs; load %s; Go %s\n",
		n, requests, clients, rounds, runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:3], " "), runtime.Version())
	body := fmt.Sprintf(`{"instances":[0],"parameters":{"n":%d}}`, n)
	for _, s := range servers { // warm-up, not measured
		if _, err := drive(s, body, 2*clients, clients); err != nil {
			return err
		}
	}
	best := make([]time.Duration, len(counts))
	par := make([]float64, len(counts))
	for range rounds {
		for i, s := range servers {
			cpu0 := s.workerCPU()
			d, err := drive(s, body, requests, clients)
			if err != nil {
				return err
			}
			if best[i] == 0 || d < best[i] {
				best[i] = d
				par[i] = (s.workerCPU() - cpu0).Seconds() / d.Seconds()
			}
		}
	}
	fmt.Printf("%-8s %12s %12s %10s %18s\n", "workers", "seconds", "req/s", "vs 1st", "CPUs busy (of n)")
	for i, w := range counts {
		fmt.Printf("%-8d %12.2f %12.1f %9.2fx %13.2f (%d)\n", w, best[i].Seconds(), float64(requests)/best[i].Seconds(), best[0].Seconds()/best[i].Seconds(), par[i], w)
	}
	fmt.Println("(CPUs busy: the workers' CPU seconds over the wall time; below n means other processes took the CPUs)")
	if ag, _ := os.ReadFile("/proc/sys/kernel/sched_autogroup_enabled"); strings.TrimSpace(string(ag)) == "1" {
		if f := strings.Fields(string(load)); len(f) > 0 {
			if l, _ := strconv.ParseFloat(f[0], 64); l > float64(runtime.NumCPU()) {
				fmt.Println("note: the machine is loaded and the kernel's autogroup scheduling gives this session one share of the CPUs however many workers it runs; the ratio is meaningful only where the CPUs busy reach n")
			}
		}
	}
	fmt.Println("goal on 2 CPUs: 2 workers at least 1.70x 1 worker")
	return nil
}

func serve(cfg sidecar.Config) (*server, error) {
	sc, err := sidecar.New(cfg, sidecar.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sc.Serve(ctx, ln) }()
	s := &server{
		url:    "http://" + ln.Addr().String(),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		stop:   func() { cancel(); <-done },
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := s.client.Get(s.url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("the sidecar's workers did not become ready within 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// drive sends requests from clients goroutines and returns the wall time.
func drive(s *server, body string, requests, clients int) (time.Duration, error) {
	var left atomic.Int64
	left.Store(int64(requests))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				resp, err := s.client.Post(s.url+"/predict", "application/json", strings.NewReader(body))
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("predict = %s", resp.Status)
					}
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), first
}
