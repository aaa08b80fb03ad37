package sidecar_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// openAIClient installs the official openai npm client pinned by
// testdata/openai/package-lock.json (npm ci, into a cache directory keyed by
// the lock's hash) and returns the directory holding client.mjs. Without
// node or the registry the test skips locally and fails in CI.
func openAIClient(t *testing.T) string {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	if _, err := exec.LookPath("node"); err != nil {
		unavailable("node not on PATH: install Node.js 20 or later")
	}
	src := filepath.Join("testdata", "openai")
	lock, err := os.ReadFile(filepath.Join(src, "package-lock.json"))
	must(t, err)
	sum := sha256.Sum256(lock)
	cache, err := os.UserCacheDir()
	must(t, err)
	dir := filepath.Join(cache, "hfpack-test", "openai-"+hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai", "package.json")); err != nil {
		// Installed beside the cache entry, then renamed: concurrent test
		// runs never see a half-installed client.
		must(t, os.MkdirAll(filepath.Dir(dir), 0o755))
		tmp, err := os.MkdirTemp(filepath.Dir(dir), ".openai-")
		must(t, err)
		defer os.RemoveAll(tmp)
		for _, f := range []string{"package.json", "package-lock.json"} {
			b, err := os.ReadFile(filepath.Join(src, f))
			must(t, err)
			must(t, os.WriteFile(filepath.Join(tmp, f), b, 0o644))
		}
		cmd := exec.Command("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			unavailable("npm ci for the openai client: %v\n%s", err, out)
		}
		if err := os.Rename(tmp, dir); err != nil {
			if _, serr := os.Stat(filepath.Join(dir, "node_modules", "openai", "package.json")); serr != nil {
				t.Fatal(err) // not a concurrent run that installed it first
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(src, "client.mjs"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "client.mjs"), b, 0o644))
	return dir
}

// The official openai client parses the sidecar's answers, streamed and not.
func TestOpenAIClientParsesAnswers(t *testing.T) {
	dir := openAIClient(t)
	h := startReady(t, genConfig(t))
	cmd := exec.Command("node", "client.mjs", h.url+"/v1")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node client.mjs: %v\n%s\n%s", err, out, stderr)
	}
	var got map[string]any
	must(t, json.Unmarshal(out, &got))
	usage := func(p, c float64) map[string]any {
		return map[string]any{"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
	}
	want := map[string]any{
		"chat": map[string]any{"object": "chat.completion", "content": "hi-0 hi-1 hi-2 ", "role": "assistant", "finish": "length", "usage": usage(3, 3)},
		"stream": map[string]any{
			"objects": []any{"chat.completion.chunk", "chat.completion.chunk", "chat.completion.chunk", "chat.completion.chunk", "chat.completion.chunk", "chat.completion.chunk"},
			"pieces":  []any{"hi-0 ", "hi-1 ", "hi-2 ", "hi-3 "}, "finish": "length", "usage": usage(3, 4),
		},
		"midError":         map[string]any{"pieces": []any{"hi-0 ", "hi-1 "}, "error": "handler: RuntimeError: broke at piece 2"},
		"earlyError":       map[string]any{"status": 500.0, "message": `500 "handler: RuntimeError: broke at piece 0"`},
		"completion":       map[string]any{"object": "text_completion", "text": "p-0 p-1 ", "usage": usage(3, 2)},
		"completionStream": []any{"q-0 ", "q-1 ", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("what the openai client parsed (-want +got):\n%s", diff)
	}
}
