package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as hfpack-sidecar when re-executed.
func TestMain(m *testing.M) {
	if os.Getenv("HFPACK_SIDECAR_MAIN") == "1" {
		os.Args = append([]string{"hfpack-sidecar"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// SIGTERM stops accepting, lets the in-flight request finish, exits 0.
func TestSIGTERMDrainsAndExitsZero(t *testing.T) {
	py, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Skip("python3 not on PATH")
	}
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	os.Mkdir(model, 0o755)
	os.WriteFile(filepath.Join(model, "w"), nil, 0o644)
	handler := filepath.Join(dir, "h.py")
	mark := filepath.Join(dir, "busy")
	os.WriteFile(handler, []byte("import time\ndef load(d): return None\ndef predict(s, xs, p):\n    open("+strconv.Quote(mark)+", 'w').close()\n    time.sleep(0.5)\n    return xs\n"), 0o644)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	cmd := exec.Command(os.Args[0], "--host", "127.0.0.1", "--port", itoa(port), "--model", model, "--handler", handler,
		"--python", strings.TrimSpace(string(py)))
	cmd.Env = append(os.Environ(), "HFPACK_SIDECAR_MAIN=1")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 1)
	go func() { b, _ := io.ReadAll(bufio.NewReader(stderr)); logs <- string(b) }()
	url := "http://127.0.0.1:" + itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("sidecar never became healthy:\n%s", <-logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	res := make(chan int, 1)
	go func() {
		resp, err := http.Post(url+"/predict", "application/json", strings.NewReader(`{"instances":["x"]}`))
		if err != nil {
			res <- 0
			return
		}
		resp.Body.Close()
		res <- resp.StatusCode
	}()
	for _, err := os.Stat(mark); err != nil; _, err = os.Stat(mark) { // the request is in the worker
		if time.Now().After(deadline) {
			t.Fatal("request never reached the worker")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("sidecar exit after SIGTERM: %v, want status 0\n%s", err, <-logs)
		}
	case <-ctx.Done():
		cmd.Process.Kill()
		t.Fatal("sidecar did not exit after SIGTERM")
	}
	if code := <-res; code != 200 {
		t.Errorf("in-flight request = %d, want 200", code)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
