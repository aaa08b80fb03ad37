package smoke

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hfpack/hfpack/imagespec"
)

// StreamBody is the OpenAI chat body smoke streams with for generative images.
const StreamBody = `{"messages":[{"role":"user","content":"Say hello."}],"max_tokens":16,"stream":true}`

var defGenerate = regexp.MustCompile(`(?m)^def generate\(`)

// generative reports whether the unpacked image at rootfs streams
// generations: its sidecar config names a generative task for the default
// handler, or its handler defines generate().
func generative(rootfs string) bool {
	b, err := os.ReadFile(filepath.Join(rootfs, imagespec.DefaultPath))
	if err != nil {
		return false
	}
	var cfg imagespec.Config
	if json.Unmarshal(b, &cfg) != nil {
		return false
	}
	if cfg.Handler == "" {
		return cfg.Task == "text-generation" || cfg.Task == "text2text-generation"
	}
	h := cfg.Handler
	if !filepath.IsAbs(h) {
		h = filepath.Join(cfg.WorkerDir, h)
	}
	src, err := os.ReadFile(filepath.Join(rootfs, h))
	return err == nil && defGenerate.Match(src)
}

func rootfsPath(bundle, root string) string {
	if filepath.IsAbs(root) {
		return root
	}
	return filepath.Join(bundle, root)
}

// streamCheck posts StreamBody to url and checks the answer is a
// text/event-stream of chat.completion.chunk events ending with
// data: [DONE]. It returns the number of chunks and the time to the first.
func streamCheck(ctx context.Context, url string) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(StreamBody))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: streaming POST %s: %w", ErrContract, url, err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, 0, fmt.Errorf("%w: streaming POST %s answered %d %s, want 200 text/event-stream: %s", ErrContract, url, resp.StatusCode, ct, bytes.TrimSpace(raw))
	}
	r := bufio.NewReader(io.LimitReader(resp.Body, 64<<20))
	chunks, event := 0, ""
	var first time.Duration
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return chunks, first, fmt.Errorf("%w: streaming POST %s: the stream ended after %d chunks without data: [DONE]", ErrContract, url, chunks)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			event = ""
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(line[len("event:"):])
		case strings.HasPrefix(line, "data:"):
			data := strings.TrimSpace(line[len("data:"):])
			if event == "error" {
				return chunks, first, fmt.Errorf("%w: streaming POST %s: error event after %d chunks: %s", ErrContract, url, chunks, data)
			}
			if data == "[DONE]" {
				if chunks == 0 {
					return 0, 0, fmt.Errorf("%w: streaming POST %s: [DONE] before any chunk", ErrContract, url)
				}
				return chunks, first, nil
			}
			var c struct {
				Object  string            `json:"object"`
				Choices []json.RawMessage `json:"choices"`
			}
			if err := json.Unmarshal([]byte(data), &c); err != nil || c.Object != "chat.completion.chunk" {
				return chunks, first, fmt.Errorf("%w: streaming POST %s: event %q is not a chat.completion.chunk", ErrContract, url, data)
			}
			if chunks == 0 {
				first = time.Since(start)
			}
			chunks++
		}
	}
}
