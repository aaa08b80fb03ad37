package gcs

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Progress counts a download's bytes and files; it is safe to read while
// Download runs (the sidecar reports it in its 503 body and its logs).
type Progress struct {
	done atomic.Int64

	mu        sync.Mutex
	started   time.Time
	base      int64 // bytes present when the download started (resumed)
	total     int64
	files     int
	filesDone int
	finished  bool
}

// ProgressSnapshot is Progress at one moment.
type ProgressSnapshot struct {
	Bytes       int64   `json:"bytes"`
	BytesDone   int64   `json:"bytes_done"`
	Files       int     `json:"files"`
	FilesDone   int     `json:"files_done"`
	BytesPerSec float64 `json:"bytes_per_second"`
	Done        bool    `json:"done"`
}

func (p *Progress) begin(files int, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.started, p.total, p.files, p.filesDone, p.finished = time.Now(), total, files, 0, false
	p.base = 0
	p.done.Store(0)
}

func (p *Progress) add(n int64) { p.done.Add(n) }

// resume counts bytes found on disk: done, but not toward the rate.
func (p *Progress) resume(n int64) {
	p.done.Add(n)
	p.mu.Lock()
	p.base += n
	p.mu.Unlock()
}

func (p *Progress) fileDone() {
	p.mu.Lock()
	p.filesDone++
	p.mu.Unlock()
}

func (p *Progress) finish() {
	p.mu.Lock()
	p.finished = true
	p.mu.Unlock()
}

// Snapshot returns the counts now.
func (p *Progress) Snapshot() ProgressSnapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := ProgressSnapshot{Bytes: p.total, BytesDone: p.done.Load(), Files: p.files, FilesDone: p.filesDone, Done: p.finished}
	if secs := time.Since(p.started).Seconds(); !p.started.IsZero() && secs > 0 {
		s.BytesPerSec = float64(s.BytesDone-p.base) / secs
	}
	return s
}

// String reads like "1.2 GiB of 4.0 GiB (30%), 1 of 3 files, 395 MB/s".
func (s ProgressSnapshot) String() string {
	pct := 100.0
	if s.Bytes > 0 {
		pct = float64(s.BytesDone) / float64(s.Bytes) * 100
	}
	return fmt.Sprintf("%s of %s (%.0f%%), %d of %d files, %.0f MB/s",
		human(s.BytesDone), human(s.Bytes), pct, s.FilesDone, s.Files, s.BytesPerSec/1e6)
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
