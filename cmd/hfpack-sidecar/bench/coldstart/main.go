// Command coldstart measures the sidecar's cold start, printing ratios
// against baselines measured in the same run (never a pass/fail timing):
//
//  1. The AIP_STORAGE_URI download: a -size model (config.json and two
//     safetensors shards) from the GCS stand-in with -latency added to every
//     request and each connection capped at -rate, as a bucket serves one
//     stream. Baseline: one sequential stream per object with its CRC32C
//     checked (what gsutil cp without -m and most start scripts do). Then
//     hfpack's gcs.Download. Each runs in a fresh child process into an
//     empty directory; both report wall time and peak RSS.
//
//  2. Start to health 200: the hfpack-sidecar binary serving that model with
//     a handler whose load() reads every weight file (readinto a page-aligned
//     1 MiB buffer), against reading the same files once the same way: the same
//     Python code run alone in its own process, and Go with a 1 MiB buffer.
//     Three rounds, each after an untimed read that puts the files back in
//     the page cache, the three taking turns going first; medians compared.
//     Each start is broken into phases from the sidecar's log.
//
//  3. The whole cold start: the sidecar with AIP_STORAGE_URI set and an
//     empty model directory, from start to health 200, with its peak RSS.
//
//     go run ./cmd/hfpack-sidecar/bench/coldstart -size 4GiB   # make bench-coldstart
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/gcs"
	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/gcs/gcstest"
	"github.com/hfpack/hfpack/hub/hubtest"
)

const uri = "gs://bench/models/m1"

type childSpec struct {
	Mode     string // "sequential" or "hfpack"
	Endpoint string
	Dir      string
}

func main() {
	size := flag.String("size", "4GiB", "model size (two safetensors shards)")
	latency := flag.Duration("latency", 20*time.Millisecond, "latency added to every request")
	rate := flag.String("rate", "50MB", "bytes per second per connection")
	dir := flag.String("dir", os.TempDir(), "where the downloads go")
	python := flag.String("python", "python3", "Python for the sidecar's worker")
	flag.Parse()
	if spec := os.Getenv("HFPACK_BENCH_COLDSTART_CHILD"); spec != "" {
		os.Exit(child(spec))
	}
	total, err1 := hubtest.ParseSize(*size)
	bps, err2 := hubtest.ParseSize(*rate)
	if err := errors.Join(err1, err2); err != nil {
		fmt.Fprintln(os.Stderr, "bench-coldstart:", err)
		os.Exit(2)
	}
	if err := run(total, bps, *latency, *dir, *python); err != nil {
		fmt.Fprintln(os.Stderr, "bench-coldstart:", err)
		os.Exit(1)
	}
}

func run(total, bps int64, latency time.Duration, parent, python string) error {
	work, err := os.MkdirTemp(parent, "hfpack-bench-coldstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	fmt.Printf("GCS stand-in: %s model in 2 shards, %s added per request, %s/s per connection; files in %s\n", hubtest.HumanSize(total), latency, hubtest.HumanSize(bps), parent)
	s := gcstest.New(gcstest.Options{Latency: latency, BytesPerSecond: bps})
	defer s.Close()
	half := total / 2
	s.Put("bench", "models/m1/config.json", gcstest.Bytes([]byte(`{"model_type":"bert"}`)))
	s.Put("bench", "models/m1/model-00001-of-00002.safetensors", gcstest.Pattern(half, 1))
	s.Put("bench", "models/m1/model-00002-of-00002.safetensors", gcstest.Pattern(total-half, 2))

	// 1. The download.
	seqDir, parDir := filepath.Join(work, "seq"), filepath.Join(work, "model")
	seq, err := runChild(childSpec{Mode: "sequential", Endpoint: s.URL, Dir: seqDir})
	if err != nil {
		return fmt.Errorf("sequential: %w", err)
	}
	fmt.Printf("one sequential stream:        %6.1fs  %6.1f MB/s  peak RSS %5.1f MiB  CPU %.1fs\n", seq.secs, float64(total)/seq.secs/1e6, seq.rssMiB, seq.cpu)
	os.RemoveAll(seqDir)
	par, err := runChild(childSpec{Mode: "hfpack", Endpoint: s.URL, Dir: parDir})
	if err != nil {
		return fmt.Errorf("hfpack: %w", err)
	}
	fmt.Printf("hfpack (%d conns, %s chunks): %6.1fs  %6.1f MB/s  peak RSS %5.1f MiB  CPU %.1fs\n", gcs.DefaultConcurrency, hubtest.HumanSize(gcs.DefaultChunkSize), par.secs, float64(total)/par.secs/1e6, par.rssMiB, par.cpu)
	ratio := seq.secs / par.secs
	fmt.Printf("download speedup: %.1fx (goal >= 4x: %s); peak RSS %.1f MiB (goal < 128 MiB: %s)\n",
		ratio, verdict(ratio >= 4), par.rssMiB, verdict(par.rssMiB < 128))

	// 2. Start to health 200 with the model on disk.
	bin := filepath.Join(work, "hfpack-sidecar")
	build := exec.Command("go", "build", "-o", bin, "./cmd/hfpack-sidecar")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the sidecar: %w", err)
	}
	handler := filepath.Join(work, "handler.py")
	if err := os.WriteFile(handler, []byte(readAllHandler), 0o644); err != nil {
		return err
	}
	// An image's python is the interpreter itself; a version manager's
	// shim (pyenv's python3 is a bash script running "pyenv exec") would
	// add its own start to every start measured.
	exe, err := realPython(python)
	if err != nil {
		return err
	}
	if exe != python {
		fmt.Printf("python: %s runs %s; the runs below start the interpreter directly\n", python, exe)
	}
	const rounds = 3
	var goReads, pyReads, starts []float64
	for r := range rounds {
		// Other work on the machine may have pushed some of the model out
		// of the page cache: an untimed read puts it back, and the three
		// take turns going first.
		if _, err := readOnce(parDir); err != nil {
			return err
		}
		var g, p float64
		var st result
		for k := range 3 {
			switch (r + k) % 3 {
			case 0:
				g, err = readOnce(parDir)
			case 1:
				p, err = pythonRead(exe, work, parDir)
			case 2:
				st, err = sidecarStart(bin, exe, handler, parDir, "", "")
			}
			if err != nil {
				return err
			}
		}
		goReads, pyReads, starts = append(goReads, g), append(pyReads, p), append(starts, st.secs)
		fmt.Printf("round %d: read once: Go %.2fs, Python (same read loop, its own process) %.2fs; sidecar start to health 200 %.2fs (peak RSS %.1f MiB)\n", r+1, g, p, st.secs, st.rssMiB)
		fmt.Printf("         %s\n", st.phases)
	}
	goRead, pyRead, start := median(goReads), median(pyReads), median(starts)
	r := start / pyRead
	fmt.Printf("start to health 200 over reading once the same way (medians of %d): %.2fs / %.2fs = %.2fx (goal <= 1.3x: %s); over a Go read: %.2fx\n",
		rounds, start, pyRead, r, verdict(r <= 1.3), start/goRead)
	if exe != python {
		st, err := sidecarStart(bin, python, handler, parDir, "", "")
		if err != nil {
			return err
		}
		fmt.Printf("the sidecar started with --python %s instead: %.2fs (%s)\n", python, st.secs, st.phases)
	}

	// 3. The whole cold start.
	empty := filepath.Join(work, "empty")
	cold, err := sidecarStart(bin, exe, handler, empty, uri, s.URL)
	if err != nil {
		return err
	}
	fmt.Printf("sidecar with AIP_STORAGE_URI, empty model dir, start to health 200: %.1fs (sidecar peak RSS %.1f MiB); the sequential download alone took %.1fs (%.1fx)\n",
		cold.secs, cold.rssMiB, seq.secs, seq.secs/cold.secs)
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average after the run: %s\n", strings.Join(strings.Fields(string(load))[:3], " "))
	}
	return nil
}

// readAllHandler reads every file as a careful handler would: with
// buffering off, into one page-aligned 1 MiB buffer. (A bytearray's bytes
// start 16 bytes into a page; the kernel's copy into a misaligned buffer
// ran 2-3x slower than into an aligned one on the development machine's
// EPYC cores, 1.05-1.8 s against 0.31-0.34 s per GiB from the page cache.)
const readAllHandler = `
import mmap
import os

def load(model_dir):
    buf = mmap.mmap(-1, 1 << 20)  # anonymous, so page-aligned
    view = memoryview(buf)
    n = 0
    for root, _, files in os.walk(model_dir):
        for name in sorted(files):
            with open(os.path.join(root, name), "rb", buffering=0) as f:
                while True:
                    k = f.readinto(view)
                    if not k:
                        break
                    n += k
    return n

def predict(state, instances, parameters):
    return [state for _ in instances]
`

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

type result struct {
	secs, rssMiB, cpu float64
	phases            phaseTimes
}

// readBuf is readOnce's buffer: one, page-aligned (as Go allocates large
// buffers), reused by every read as the handler reuses its own.
var readBuf = make([]byte, 1<<20)

// readOnce reads every file under dir once and returns the seconds taken.
func readOnce(dir string) (float64, error) {
	start := time.Now()
	buf := readBuf
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		for { // not io.CopyBuffer to io.Discard: its ReadFrom reads 8 KiB at a time
			if _, err := f.Read(buf); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
		}
	})
	return time.Since(start).Seconds(), err
}

// realPython returns the interpreter python runs (sys.executable).
func realPython(python string) (string, error) {
	out, err := exec.Command(python, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return "", fmt.Errorf("asking %s for its interpreter: %w", python, err)
	}
	if exe := strings.TrimSpace(string(out)); exe != "" {
		return exe, nil
	}
	return python, nil
}

// pythonRead runs the handler's load() alone in a Python process of its
// own and returns the process's wall time: reading the files once the way
// the handler does, interpreter start included.
func pythonRead(python, handlerDir, model string) (float64, error) {
	start := time.Now()
	py := exec.Command(python, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import handler; handler.load(sys.argv[2])", handlerDir, model)
	py.Stderr = os.Stderr
	if err := py.Run(); err != nil {
		return 0, fmt.Errorf("running the handler's load alone: %w", err)
	}
	return time.Since(start).Seconds(), nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// phaseTimes is where one start went, from the sidecar's log: seconds from
// exec to the log's "sidecar listening", then to "worker started" (the
// spawn), to the worker's hello ("worker loading model": the interpreter's
// start and the worker's imports), the handler's import and its load() as
// the worker measured them, the rest until "worker ready" (the protocol),
// and from there until the bench's health poll saw 200.
type phaseTimes struct {
	listen, spawn, hello, imp, load, ready, health float64
	ok                                             bool
}

func (p phaseTimes) String() string {
	if !p.ok {
		return "phases: not found in the sidecar's log"
	}
	return fmt.Sprintf("phases: exec to listening %.3fs, worker spawned +%.3fs, worker hello (python start, worker import) +%.3fs, handler import +%.3fs, load() +%.3fs, ready +%.3fs, health poll saw 200 +%.3fs",
		p.listen, p.spawn, p.hello, p.imp, p.load, p.ready, p.health)
}

// sidecarStart runs the sidecar until /health answers 200 and returns the
// time from exec, with the sidecar's own peak RSS (VmHWM) then and the
// phases its log shows.
func sidecarStart(bin, python, handler, model, storageURI, endpoint string) (result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	args := []string{"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--model", model, "--handler", handler, "--python", python, "--metrics-path", "-"}
	if storageURI != "" {
		args = append(args, "--storage-uri", storageURI)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	if endpoint != "" {
		u, _ := url.Parse(endpoint)
		cmd.Env = append(cmd.Env, "STORAGE_EMULATOR_HOST="+u.Host)
	}
	logs, _ := cmd.StderrPipe()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	type logLine struct {
		Message              string    `json:"message"`
		Time                 time.Time `json:"time"`
		HandlerImportSeconds float64   `json:"handler_import_seconds"`
		HandlerLoadSeconds   float64   `json:"handler_load_seconds"`
	}
	seen := map[string]logLine{}
	readyLogged := make(chan struct{})
	var mu sync.Mutex
	go func() { // progress lines, as Cloud Logging would show them
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			var l logLine
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				continue
			}
			if strings.HasPrefix(l.Message, "downloading model:") {
				fmt.Println("  sidecar log:", l.Message)
			}
			mu.Lock()
			if _, ok := seen[l.Message]; !ok {
				seen[l.Message] = l
				if l.Message == "worker ready" {
					close(readyLogged)
				}
			}
			mu.Unlock()
		}
	}()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	health := "http://127.0.0.1:" + strconv.Itoa(port) + "/health"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, health, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				healthy := time.Now()
				res := result{secs: healthy.Sub(start).Seconds(), rssMiB: vmHWM(cmd.Process.Pid)}
				select {
				case <-readyLogged:
				case <-time.After(5 * time.Second):
				}
				mu.Lock()
				defer mu.Unlock()
				listen, ok1 := seen["sidecar listening"]
				spawn, ok2 := seen["worker started"]
				hello, ok3 := seen["worker loading model"]
				ready, ok4 := seen["worker ready"]
				if ok1 && ok2 && ok3 && ok4 {
					p := phaseTimes{ok: true,
						listen: listen.Time.Sub(start).Seconds(), spawn: spawn.Time.Sub(listen.Time).Seconds(),
						hello: hello.Time.Sub(spawn.Time).Seconds(), imp: ready.HandlerImportSeconds, load: ready.HandlerLoadSeconds,
						health: healthy.Sub(ready.Time).Seconds()}
					// The worker's clock and the log's differ by microseconds.
					p.ready = max(0, ready.Time.Sub(hello.Time).Seconds()-p.imp-p.load)
					res.phases = p
				}
				return res, nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return result{}, fmt.Errorf("the sidecar never became healthy")
}

// vmHWM is a process's peak RSS in MiB.
func vmHWM(pid int) float64 {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// runChild runs one download in a child process and returns its wall
// time, peak RSS and CPU time.
func runChild(cs childSpec) (result, error) {
	spec, _ := json.Marshal(cs)
	u, err := hubtest.RunChild("HFPACK_BENCH_COLDSTART_CHILD=" + string(spec))
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
	var err error
	switch cs.Mode {
	case "sequential":
		err = sequential(cs.Endpoint, cs.Dir)
	default:
		_, err = gcs.Download(context.Background(), uri, cs.Dir, gcs.WithEndpoint(cs.Endpoint), gcs.WithHTTPClient(http.DefaultClient))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// sequential is the baseline: list, then each object in one GET, its
// CRC32C checked as it streams to disk.
func sequential(endpoint, dir string) error {
	resp, err := http.Get(endpoint + "/storage/v1/b/bench/o?prefix=models/m1/")
	if err != nil {
		return err
	}
	var page struct {
		Items []struct{ Name, CRC32C string }
	}
	err = json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, it := range page.Items {
		resp, err := http.Get(endpoint + "/storage/v1/b/bench/o/" + url.PathEscape(it.Name) + "?alt=media")
		if err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(dir, filepath.Base(it.Name)))
		if err != nil {
			return err
		}
		h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
		_, err = io.Copy(io.MultiWriter(f, h), resp.Body)
		resp.Body.Close()
		if err := errors.Join(err, f.Close()); err != nil {
			return err
		}
		_ = h.Sum32()
	}
	return nil
}
