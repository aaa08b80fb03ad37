// Command stream is bench-stream: the sidecar's cost on streamed
// generations. A stand-in generator (stream_handler.py) yields pieces
// stamped with the time they were yielded; the same handler is driven
// in-process by Python threads (the baseline) and through the real sidecar
// and worker by HTTP clients reading the SSE stream. It prints, at each
// concurrency, the time to first byte and the delay from a piece's yield to
// its consumer, in-process and through the sidecar, and the difference: what
// the sidecar adds. Goals: under 1 ms added to the first byte and under
// 100 µs per piece at 64 streams.
package main

import (
	"bufio"
	"bytes"
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
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar"
)

type streamResult struct {
	TTFB   int64   `json:"ttfb"`
	Delays []int64 `json:"delays"`
}

func main() {
	pieces := flag.Int("pieces", 50, "pieces per stream")
	interval := flag.Duration("interval", 10*time.Millisecond, "time between pieces")
	first := flag.Duration("first", 5*time.Millisecond, "time before the first piece")
	python := flag.String("python", "python3", "Python interpreter")
	concurrency := flag.String("streams", "1,64", "concurrent streams to measure, comma-separated")
	rounds := flag.Int("rounds", 5, "streams each client runs in a row")
	cpuprofile := flag.String("cpuprofile", "", "write the sidecar process's CPU profile here")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(*python, *concurrency, *pieces, *rounds, *interval, *first); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench-stream:", err)
		os.Exit(1)
	}
}

func run(python, concurrency string, pieces, rounds int, interval, first time.Duration) error {
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Dir(self)
	handler := filepath.Join(dir, "stream_handler.py")
	params := fmt.Sprintf(`{"pieces":%d,"interval":%g,"first":%g}`, pieces, interval.Seconds(), first.Seconds())
	var levels []int
	for _, s := range strings.Split(concurrency, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-streams %q: want counts such as 1,64", concurrency)
		}
		levels = append(levels, n)
	}
	model, err := os.MkdirTemp("", "bench-stream-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(model)
	cfg := sidecar.Config{
		Host: "127.0.0.1", Python: python, ModelDir: model, Handler: handler,
		MaxConcurrentStreams: slices.Max(levels), MaxQueue: max(4*slices.Max(levels), 64),
		RestartBackoff: sidecar.Duration(100 * time.Millisecond), MetricsPath: "-",
	}
	sc, err := sidecar.New(cfg, sidecar.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sc.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	url := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	if err := waitReady(client, url); err != nil {
		return err
	}
	// Clients start staggered over one stream's length, so that at each
	// concurrency that many streams run at once, in every phase.
	streamLen := first + time.Duration(pieces-1)*interval
	fmt.Printf("bench-stream: %d pieces per stream, %v apart, first after %v; %d streams in a row per client, starts staggered; %d CPUs; Go %s\n",
		pieces, interval, first, rounds, runtime.NumCPU(), runtime.Version())
	fmt.Printf("%-8s %-10s %14s %14s %14s %14s %14s\n", "streams", "path", "ttfb p50", "ttfb p99", "piece p50", "piece p99", "piece mean")
	body := `{"model":"bench","messages":[{"role":"user","content":"x"}],"stream":true,` + params[1:]
	for _, n := range levels {
		// One warm-up round through the sidecar, not measured.
		stagger := streamLen / time.Duration(n)
		if _, err := viaSidecar(client, url, body, n, 1, stagger); err != nil {
			return err
		}
		base, err := inProcess(python, filepath.Join(dir, "inprocess.py"), handler, n, params, rounds, stagger)
		if err != nil {
			return err
		}
		side, err := viaSidecar(client, url, body, n, rounds, stagger)
		if err != nil {
			return err
		}
		b, s := summarize(base), summarize(side)
		b.print(n, "in-process")
		s.print(n, "sidecar")
		fmt.Printf("%-8d %-10s %14s %14s %14s %14s %14s\n", n, "added",
			us(s.ttfb50-b.ttfb50), us(s.ttfb99-b.ttfb99), us(s.piece50-b.piece50), us(s.piece99-b.piece99), us(s.pieceMean-b.pieceMean))
	}
	hop, err := socketHop(python, pieces, interval)
	if err != nil {
		return err
	}
	fmt.Printf("reference: one bare Unix-socket hop from a Python thread to a Go reader on this machine: p50 %s, mean %s\n", us(hop.piece50), us(hop.pieceMean))
	fmt.Println("(a streamed piece crosses three such hops: worker to sidecar, sidecar's reader to the request's goroutine, sidecar to client)")
	fmt.Println("goals at 64 streams: added ttfb p50 < 1ms, added piece mean < 100µs")
	return nil
}

// socketHop measures the floor of any out-of-process design on this
// machine: a Python thread writing a time stamp to a Unix socket every
// interval, a Go goroutine reading it.
func socketHop(python string, n int, interval time.Duration) (summary, error) {
	dir, err := os.MkdirTemp("", "bench-hop-")
	if err != nil {
		return summary{}, err
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return summary{}, err
	}
	defer ln.Close()
	cmd := exec.Command(python, "-c", `import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
for i in range(int(sys.argv[2])):
    time.sleep(float(sys.argv[3]))
    s.sendall(b"%d\n" % time.time_ns())
`, sock, strconv.Itoa(n), strconv.FormatFloat(interval.Seconds(), 'f', 6, 64))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return summary{}, err
	}
	defer cmd.Wait()
	c, err := ln.Accept()
	if err != nil {
		return summary{}, err
	}
	defer c.Close()
	r := streamResult{TTFB: 1}
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		now := time.Now().UnixNano()
		if err != nil {
			break
		}
		ts, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
		if err != nil {
			return summary{}, fmt.Errorf("socket hop: %q", line)
		}
		r.Delays = append(r.Delays, now-ts)
	}
	if len(r.Delays) == 0 {
		return summary{}, errors.New("socket hop: nothing read")
	}
	return summarize([]streamResult{r}), nil
}

func waitReady(c *http.Client, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := c.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("sidecar not ready after 30s")
}

func inProcess(python, script, handler string, n int, params string, rounds int, stagger time.Duration) ([]streamResult, error) {
	var out bytes.Buffer
	cmd := exec.Command(python, script, handler, strconv.Itoa(n), params, strconv.Itoa(rounds), strconv.FormatFloat(stagger.Seconds(), 'f', 6, 64))
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("in-process baseline: %w", err)
	}
	var res []streamResult
	return res, json.Unmarshal(out.Bytes(), &res)
}

// viaSidecar runs n clients at once, each running rounds streams in a row
// after a start offset of stagger times its index, and times each piece's
// arrival against the yield time it carries.
func viaSidecar(c *http.Client, url, body string, n, rounds int, stagger time.Duration) ([]streamResult, error) {
	res := make([][]streamResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			time.Sleep(time.Duration(i) * stagger)
			for range rounds {
				r, err := oneStream(c, url, body)
				if err != nil {
					errs[i] = err
					return
				}
				res[i] = append(res[i], r)
			}
		}()
	}
	close(start)
	wg.Wait()
	var all []streamResult
	for i, err := range errs {
		if err != nil {
			return nil, err
		}
		all = append(all, res[i]...)
	}
	return all, nil
}

func oneStream(c *http.Client, url, body string) (streamResult, error) {
	var r streamResult
	t0 := time.Now().UnixNano()
	resp, err := c.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return r, fmt.Errorf("stream = %d %s", resp.StatusCode, b)
	}
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		now := time.Now().UnixNano()
		if err == io.EOF {
			return r, nil
		}
		if err != nil {
			return r, err
		}
		data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ch struct {
			Choices []struct{ Delta struct{ Content string } }
		}
		if err := json.Unmarshal([]byte(data), &ch); err != nil || len(ch.Choices) == 0 {
			return r, fmt.Errorf("bad chunk %q", data)
		}
		ts, err := strconv.ParseInt(strings.TrimSpace(ch.Choices[0].Delta.Content), 10, 64)
		if err != nil {
			continue // the final chunk carries no piece
		}
		if r.TTFB == 0 {
			r.TTFB = now - t0
		}
		r.Delays = append(r.Delays, now-ts)
	}
}

type summary struct {
	ttfb50, ttfb99, piece50, piece99, pieceMean time.Duration
}

func summarize(rs []streamResult) summary {
	var ttfb, delays []int64
	for _, r := range rs {
		ttfb = append(ttfb, r.TTFB)
		delays = append(delays, r.Delays...)
	}
	slices.Sort(ttfb)
	slices.Sort(delays)
	var sum int64
	for _, d := range delays {
		sum += d
	}
	q := func(v []int64, p float64) time.Duration { return time.Duration(v[int(p*float64(len(v)-1))]) }
	return summary{q(ttfb, .5), q(ttfb, .99), q(delays, .5), q(delays, .99), time.Duration(sum / int64(len(delays)))}
}

func (s summary) print(n int, path string) {
	fmt.Printf("%-8d %-10s %14s %14s %14s %14s %14s\n", n, path, us(s.ttfb50), us(s.ttfb99), us(s.piece50), us(s.piece99), us(s.pieceMean))
}

func us(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 1, 64) + "µs"
}
