package smoke

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Routes and the instances smoke uses unless told otherwise. The routes are not the sidecar's
// defaults, so a server that ignores AIP_HEALTH_ROUTE or AIP_PREDICT_ROUTE fails.
const (
	DefaultHealthRoute  = "/hfpack-smoke/v1/health"
	DefaultPredictRoute = "/hfpack-smoke/v1/predict"
	DefaultInstances    = `["hello world"]`
)

// ErrContract reports an image that runs but breaks the serving contract.
var ErrContract = errors.New("serving contract broken")

// Check is one contract check that passed.
type Check struct {
	Name   string `json:"name"`
	Result string `json:"result"`
}

// Options configure Run.
type Options struct {
	// Instances is the JSON array sent as the predict request's "instances"; DefaultInstances
	// when empty.
	Instances string
	// Timeout bounds the wait for the model to load; 5 minutes when zero.
	Timeout time.Duration
	// OnCheck is called as each check passes; nil ignores them.
	OnCheck func(Check)
	// Logs receives the container's stdout and stderr; nil keeps only a tail for errors.
	Logs io.Writer
}

// Run copies image (REF in a registry, oci:DIR[:TAG] or docker-archive:FILE), runs it with runc
// and probes the Vertex contract, returning the checks that passed. Its error names the first
// check that failed (wrapping ErrContract) or the tool that could not run.
func Run(ctx context.Context, image string, o Options) ([]Check, error) {
	if o.Instances == "" {
		o.Instances = DefaultInstances
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	var instances []json.RawMessage
	if err := json.Unmarshal([]byte(o.Instances), &instances); err != nil {
		return nil, fmt.Errorf("instances %q: want a JSON array: %w", o.Instances, err)
	}
	tools, err := Tools()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "hfpack-smoke-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	var checks []Check
	pass := func(name, format string, args ...any) {
		c := Check{Name: name, Result: fmt.Sprintf(format, args...)}
		checks = append(checks, c)
		if o.OnCheck != nil {
			o.OnCheck(c)
		}
	}
	b, err := tools.unpack(ctx, image, work)
	if err != nil {
		return checks, err
	}
	pass("image", "%s unpacked; runs %s as %d:%d", image, strings.Join(b.spec.Process.Args, " "), b.spec.Process.User.UID, b.spec.Process.User.GID)

	port, err := freePort()
	if err != nil {
		return checks, err
	}
	env := []string{"AIP_HTTP_PORT=" + port, "AIP_HEALTH_ROUTE=" + DefaultHealthRoute, "AIP_PREDICT_ROUTE=" + DefaultPredictRoute}
	c, err := tools.start(b, env, o.Logs)
	if err != nil {
		return checks, err
	}
	defer c.stop()
	base := "http://127.0.0.1:" + port

	start := time.Now()
	saw503, err := waitHealthy(ctx, c, base+DefaultHealthRoute, o.Timeout)
	if err != nil {
		return checks, c.withLogs(err)
	}
	loading := "503 while loading, then 200"
	if !saw503 {
		loading = "200 (the model loaded before the first answer, so 503 was not seen)"
	}
	pass("health", "GET %s on AIP_HTTP_PORT=%s: %s after %s", DefaultHealthRoute, port, loading, time.Since(start).Round(time.Millisecond))

	preds, err := predict(ctx, base+DefaultPredictRoute, instances)
	if err != nil {
		return checks, c.withLogs(err)
	}
	first := string(preds[0])
	if len(first) > 120 {
		first = first[:117] + "..."
	}
	pass("predict", "POST %s: %d instances, %d predictions; first %s", DefaultPredictRoute, len(instances), len(preds), first)
	if b.spec.Root != nil && generative(rootfsPath(b.dir, b.spec.Root.Path)) {
		n, first, err := streamCheck(ctx, base+DefaultPredictRoute)
		if err != nil {
			return checks, c.withLogs(err)
		}
		pass("stream", "POST %s with an OpenAI chat body and stream true: %d chat.completion.chunk events, the first after %s, then data: [DONE]", DefaultPredictRoute, n, first.Round(time.Millisecond))
	}
	pass("routes", "AIP_HTTP_PORT=%s, AIP_HEALTH_ROUTE=%s and AIP_PREDICT_ROUTE=%s honoured (not the defaults)", port, DefaultHealthRoute, DefaultPredictRoute)

	if err := c.signal(syscall.SIGTERM); err != nil {
		return checks, err
	}
	start = time.Now()
	select {
	case <-c.exited:
	case <-time.After(60 * time.Second):
		return checks, c.withLogs(fmt.Errorf("%w: still running 60s after SIGTERM", ErrContract))
	case <-ctx.Done():
		return checks, ctx.Err()
	}
	if c.code != 0 {
		return checks, c.withLogs(fmt.Errorf("%w: exit status %d after SIGTERM, want 0", ErrContract, c.code))
	}
	pass("sigterm", "exit status 0 after %s", time.Since(start).Round(time.Millisecond))
	return checks, nil
}

// waitHealthy polls url until it answers 200, reporting whether it answered 503 first.
func waitHealthy(ctx context.Context, c *container, url string, timeout time.Duration) (bool, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(timeout)
	saw503, last := false, "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
				return saw503, nil
			case http.StatusServiceUnavailable:
				saw503 = true
			default:
				return false, fmt.Errorf("%w: GET %s answered %d; want 503 while loading and 200 when ready (is AIP_HEALTH_ROUTE honoured?)", ErrContract, url, resp.StatusCode)
			}
			last = resp.Status
		}
		select {
		case <-c.exited:
			return false, fmt.Errorf("%w: the container exited with status %d before it was healthy", ErrContract, c.code)
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("%w: GET %s not 200 after %s (last: %s)", ErrContract, url, timeout, last)
		}
	}
}

// predict sends a Vertex request and checks the response has one prediction per instance.
func predict(ctx context.Context, url string, instances []json.RawMessage) ([]json.RawMessage, error) {
	body, err := json.Marshal(map[string]any{"instances": instances})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: POST %s: %w", ErrContract, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: POST %s: %w", ErrContract, url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: POST %s answered %d: %s", ErrContract, url, resp.StatusCode, bytes.TrimSpace(raw))
	}
	var out struct {
		Predictions []json.RawMessage `json:"predictions"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Predictions == nil {
		return nil, fmt.Errorf("%w: POST %s: want {\"predictions\": [...]}, got %s", ErrContract, url, bytes.TrimSpace(raw))
	}
	if len(out.Predictions) != len(instances) {
		return nil, fmt.Errorf("%w: POST %s: %d predictions for %d instances", ErrContract, url, len(out.Predictions), len(instances))
	}
	return out.Predictions, nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}
