package sidecar_test

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar"
)

// A request whose instance raises must not fail the requests that shared
// its batch: the batch is re-run request by request.
func TestBadInstanceFailsOnlyItsRequest(t *testing.T) {
	cfg := testConfig(t, testHandler)
	cfg.MaxBatchSize = 4
	cfg.MaxBatchDelay = sidecar.Duration(time.Minute) // the four requests must share a batch
	h := startReady(t, cfg)

	ins := []string{`"a"`, `{"raise":"x1"}`, `"b"`, `{"short":true}`}
	codes := make([]int, len(ins))
	bodies := make([]string, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], bodies[i] = h.post("/predict", `{"instances":[`+in+`]}`)
		}()
	}
	wg.Wait()
	for i, want := range []int{200, 500, 200, 500} {
		if codes[i] != want {
			t.Errorf("request %d (%s) = %d %s, want %d", i, ins[i], codes[i], bodies[i], want)
		}
	}
	if !strings.Contains(bodies[1], "ValueError: bad instance x1") {
		t.Errorf("failing request's error = %s, want the handler's exception", bodies[1])
	}
	for _, i := range []int{0, 2} {
		var out struct{ Predictions []pred }
		if err := json.Unmarshal([]byte(bodies[i]), &out); err != nil || len(out.Predictions) != 1 || string(out.Predictions[0].Echo) != ins[i] {
			t.Errorf("bystander %d got %s, want its own prediction", i, bodies[i])
		}
	}
	if _, body := h.health(); !strings.Contains(body, `"restarts":0`) {
		t.Errorf("health = %s, want no restart for handler exceptions", body)
	}
}

// A request over max-request-bytes sent with Content-Length by a client that
// writes its whole body before reading the answer must see the 413, not a
// broken pipe or a reset.
func TestOversizedBodyGets413(t *testing.T) {
	cfg := testConfig(t, testHandler)
	cfg.MaxRequestBytes = 1572864
	h := startReady(t, cfg)
	const script = `
import http.client, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
body = b'{"instances":["' + b"x" * (5 << 20) + b'"]}'
seen = {}
for i in range(20):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        c.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        key = str(r.status) + " " + r.read().decode()[:60]
    except Exception as e:
        key = type(e).__name__
    finally:
        c.close()
    seen[key] = seen.get(key, 0) + 1
for k, v in sorted(seen.items()):
    print(v, k)
`
	out, err := exec.Command(python(t), "-c", script, h.url).CombinedOutput()
	if err != nil {
		t.Fatalf("python client: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); !strings.HasPrefix(got, `20 413 {"error":"request body exceeds 1572864 bytes"}`) || strings.Count(got, "\n") != 0 {
		t.Errorf("20 posts of 5 MB got:\n%s\nwant 20 answered 413", got)
	}
	// Chunked bodies (no Content-Length) over the limit get it too.
	req, _ := http.NewRequest(http.MethodPost, h.url+"/predict", struct{ *strings.Reader }{strings.NewReader(`{"instances":["` + strings.Repeat("x", 2<<20) + `"]}`)})
	resp, err := h.client.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked oversized post = %d, want 413", resp.StatusCode)
	}
}
