package smoke

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar"
)

func TestGenerative(t *testing.T) {
	tests := []struct {
		name, config, handler string
		want                  bool
	}{
		{"text-generation", `{"task":"text-generation"}`, "", true},
		{"text2text-generation", `{"task":"text2text-generation"}`, "", true},
		{"classifier", `{"task":"text-classification"}`, "", false},
		{"handler with generate", `{"worker-dir":"/opt/hfpack/worker","handler":"h.py"}`, "def load(d):\n    pass\n\ndef generate(s, i, p):\n    yield 'x'\n", true},
		{"handler without", `{"worker-dir":"/opt/hfpack/worker","handler":"h.py","task":"text-generation"}`, "def load(d):\n    pass\n", false},
		{"no config", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			os.MkdirAll(filepath.Join(root, "opt", "hfpack", "worker"), 0o755)
			if tt.config != "" {
				os.WriteFile(filepath.Join(root, "opt", "hfpack", "sidecar.json"), []byte(tt.config), 0o644)
			}
			if tt.handler != "" {
				os.WriteFile(filepath.Join(root, "opt", "hfpack", "worker", "h.py"), []byte(tt.handler), 0o644)
			}
			if got := generative(root); got != tt.want {
				t.Errorf("generative = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStreamCheck(t *testing.T) {
	chunk := `data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}` + "\n\n"
	tests := []struct {
		name, contentType, body string
		status                  int
		wantErr                 string
	}{
		{"ok", "text/event-stream", chunk + chunk + "data: [DONE]\n\n", 200, ""},
		{"no done", "text/event-stream", chunk, 200, "without data: [DONE]"},
		{"error event", "text/event-stream", chunk + "event: error\ndata: {\"error\":{\"message\":\"boom\"}}\n\n", 200, "error event after 1 chunks"},
		{"not a chunk", "text/event-stream", `data: {"object":"chat.completion"}` + "\n\n", 200, "not a chat.completion.chunk"},
		{"json answer", "application/json", `{"error":"no generate"}`, 501, "answered 501"},
		{"empty", "text/event-stream", "data: [DONE]\n\n", 200, "before any chunk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			n, _, err := streamCheck(t.Context(), srv.URL)
			if tt.wantErr == "" {
				if err != nil || n != 2 {
					t.Errorf("streamCheck = %d, %v; want 2 chunks", n, err)
				}
				return
			}
			if !errors.Is(err, ErrContract) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("streamCheck error %v, want ErrContract containing %q", err, tt.wantErr)
			}
		})
	}
}

// smoke's stream check passes against the real sidecar and worker.
func TestStreamCheckAgainstSidecar(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not on PATH")
	}
	dir := t.TempDir()
	handler := filepath.Join(dir, "h.py")
	os.WriteFile(handler, []byte("def load(d):\n    return None\n\ndef predict(s, i, p):\n    return i\n\ndef generate(s, i, p):\n    for w in ['Hel', 'lo']:\n        yield w\n"), 0o644)
	sc, err := sidecar.New(sidecar.Config{Host: "127.0.0.1", Python: py, ModelDir: dir, Handler: handler},
		sidecar.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sc.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	c := &container{exited: make(chan struct{}), logs: &tail{}}
	if _, err := waitHealthy(t.Context(), c, "http://"+ln.Addr().String()+"/health", time.Minute); err != nil {
		t.Fatal(err)
	}
	n, _, err := streamCheck(t.Context(), "http://"+ln.Addr().String()+"/predict")
	if err != nil || n != 3 { // two pieces and the final chunk
		t.Errorf("streamCheck against the sidecar = %d, %v; want 3 chunks", n, err)
	}
}
