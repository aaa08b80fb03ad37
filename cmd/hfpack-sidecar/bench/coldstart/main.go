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
//     a handler whose load() reads every weight file, against reading the
//     same files once (Go, 1 MiB buffer) in the same run, before and after.
//     The files are in the page cache for both (they were just written).
//     It also runs the handler's load() alone in Python, to show what the
//     sidecar adds over the handler itself.
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
	"strconv"
	"strings"
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
	read1, err := readOnce(parDir)
	if err != nil {
		return err
	}
	pyStart := time.Now()
	py := exec.Command(python, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import handler; handler.load(sys.argv[2])", work, parDir)
	py.Stderr = os.Stderr
	if err := py.Run(); err != nil {
		return fmt.Errorf("running the handler's load alone: %w", err)
	}
	pyLoad := time.Since(pyStart).Seconds()
	start, err := sidecarStart(bin, python, handler, parDir, "", "")
	if err != nil {
		return err
	}
	read2, err := readOnce(parDir)
	if err != nil {
		return err
	}
	lower := min(read1, read2)
	fmt.Printf("read every file once:         %6.2fs and %.2fs (before and after)\n", read1, read2)
	fmt.Printf("sidecar start to health 200:  %6.2fs (handler reads every file; peak RSS %.1f MiB)\n", start.secs, start.rssMiB)
	r := start.secs / lower
	fmt.Printf("start to ready over reading once: %.2fx (goal <= 1.3x: %s; page cache warm for both)\n", r, verdict(r <= 1.3))
	fmt.Printf("the handler's load() alone (%s -c, no sidecar): %.2fs; the sidecar adds %.2fx over it\n", python, pyLoad, start.secs/pyLoad)

	// 3. The whole cold start.
	empty := filepath.Join(work, "empty")
	cold, err := sidecarStart(bin, python, handler, empty, uri, s.URL)
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

const readAllHandler = `
import os

def load(model_dir):
    buf = bytearray(1 << 20)
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

type result struct{ secs, rssMiB, cpu float64 }

// readOnce reads every file under dir once and returns the seconds taken.
func readOnce(dir string) (float64, error) {
	start := time.Now()
	buf := make([]byte, 1<<20)
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
		return err
	})
	return time.Since(start).Seconds(), err
}

// sidecarStart runs the sidecar until /health answers 200 and returns the
// time from exec, with the sidecar's own peak RSS (VmHWM) then.
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
	go func() { // progress lines, as Cloud Logging would show them
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			var l struct{ Message string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && strings.HasPrefix(l.Message, "downloading model:") {
				fmt.Println("  sidecar log:", l.Message)
			}
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
				secs := time.Since(start).Seconds()
				return result{secs: secs, rssMiB: vmHWM(cmd.Process.Pid)}, nil
			}
		}
		time.Sleep(10 * time.Millisecond)
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
