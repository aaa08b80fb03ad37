package smoke

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestWaitHealthy(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path != "/h":
			http.NotFound(w, r)
		case calls.Add(1) < 3:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	c := &container{exited: make(chan struct{}), logs: &tail{}}
	saw503, err := waitHealthy(t.Context(), c, srv.URL+"/h", time.Minute)
	if err != nil || !saw503 {
		t.Errorf("waitHealthy = %v, %v; want true, nil", saw503, err)
	}
	_, err = waitHealthy(t.Context(), c, srv.URL+"/health", time.Minute)
	if !errors.Is(err, ErrContract) || !strings.Contains(err.Error(), "answered 404") {
		t.Errorf("a route the server does not serve: %v, want ErrContract naming 404", err)
	}
	close(c.exited)
	calls.Store(-100)
	if _, err := waitHealthy(t.Context(), c, srv.URL+"/h", time.Minute); !errors.Is(err, ErrContract) || !strings.Contains(err.Error(), "exited") {
		t.Errorf("an exited container: %v, want ErrContract naming the exit", err)
	}
}

func TestPredict(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr string
	}{
		{"one per instance", 200, `{"predictions": [1, 2]}`, ""},
		{"too few", 200, `{"predictions": [1]}`, "1 predictions for 2 instances"},
		{"not vertex", 200, `[1, 2]`, `want {"predictions": [...]}`},
		{"handler error", 500, `{"error": "boom"}`, "answered 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var req struct{ Instances []json.RawMessage }
				if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Instances) != 2 {
					http.Error(w, fmt.Sprintf("bad request %v", err), 400)
					return
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			preds, err := predict(t.Context(), srv.URL, []json.RawMessage{json.RawMessage(`"a"`), json.RawMessage(`{"text":"b"}`)})
			if tt.wantErr == "" {
				if err != nil || len(preds) != 2 {
					t.Errorf("predict = %s, %v", preds, err)
				}
				return
			}
			if !errors.Is(err, ErrContract) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("predict error %v, want ErrContract containing %q", err, tt.wantErr)
			}
		})
	}
}
