// Package rangefetch is the core of a chunked, resumable download shared by
// the Hub fetcher (hub) and the sidecar's GCS downloader: a file fetched in
// fixed-size chunks by parallel ranged requests into a partial file, a JSON
// state file recording the bytes present in each chunk so an interrupted
// run resumes, and an in-order reader that hashes the file as its prefix
// arrives. The data is always written before the state that claims it.
//
// The caller owns the requests, the retries, the verification and the
// error messages; this package owns the partial file and its state.
package rangefetch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

const (
	// BufSize is the buffer of one connection.
	BufSize = 1 << 20
	// CheckpointEvery is how many bytes arrive between two state saves.
	CheckpointEvery = 16 << 20
)

// State is what the state file records. Name and Generation, when set,
// identify the bytes: a saved state resumes only if they match.
type State struct {
	Name       string  `json:"name,omitempty"`
	Generation string  `json:"generation,omitempty"`
	Size       int64   `json:"size"`
	Chunk      int64   `json:"chunk"`
	Done       []int64 `json:"done"`
}

// File is one file being fetched into its partial file.
type File struct {
	// Name and Generation identify the bytes in the state file (optional).
	Name, Generation string
	// Size is the file's size in bytes.
	Size int64
	// Partial and StateFile are the paths of the bytes so far and of
	// their state.
	Partial, StateFile string
	// WrapIO wraps errors of the local files (nil: unwrapped).
	WrapIO func(error) error
	// OnWrite, when set, sees each piece Fill writes, in order within its
	// chunk, before the piece counts as present (to hash it as it lands).
	OnWrite func(chunk int, p []byte)

	out   *os.File
	chunk int64

	mu        sync.Mutex
	cond      *sync.Cond
	done      []int64 // bytes present from the start of each chunk
	unsaved   int64
	cancelled bool
}

func (f *File) wrap(err error) error {
	if err == nil || f.WrapIO == nil {
		return err
	}
	return f.WrapIO(err)
}

// Chunks is the number of chunks of a file: at least one, even when empty.
func Chunks(size, chunk int64) int { return max(1, int((size+chunk-1)/chunk)) }

// ChunkLen is the length of chunk i.
func (f *File) ChunkLen(i int) int64 {
	return max(0, min(f.chunk, f.Size-int64(i)*f.chunk))
}

// Open opens the partial file, resuming the chunks a previous run saved
// (in that run's chunk size) unless fresh, and returns the bytes present.
func (f *File) Open(chunk int64, fresh bool) (int64, error) {
	f.cond = sync.NewCond(&f.mu)
	f.cancelled = false
	f.unsaved = 0
	st := State{Size: f.Size, Chunk: chunk, Done: make([]int64, Chunks(f.Size, chunk))}
	resumed := false
	if !fresh {
		if b, err := os.ReadFile(f.StateFile); err == nil {
			var old State
			if json.Unmarshal(b, &old) == nil && old.Name == f.Name && old.Generation == f.Generation &&
				old.Size == f.Size && old.Chunk > 0 && len(old.Done) == Chunks(old.Size, old.Chunk) {
				st, resumed = old, true
			}
		}
	}
	out, err := os.OpenFile(f.Partial, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, f.wrap(err)
	}
	f.out, f.chunk, f.done = out, st.Chunk, st.Done
	var have int64
	for i, v := range f.done {
		if v < 0 || v > f.ChunkLen(i) {
			resumed = false
			break
		}
		have += v
	}
	if fi, err := out.Stat(); !resumed || err != nil || fi.Size() > f.Size {
		if err := out.Truncate(0); err != nil {
			out.Close()
			f.out = nil
			return 0, f.wrap(err)
		}
		clear(f.done)
		have = 0
	}
	if err := preallocate(out, f.Size); err != nil {
		out.Close()
		f.out = nil
		return 0, f.wrap(err)
	}
	return have, nil
}

// ChunkSize is the size of every chunk but the last: the one Open was
// given, or the one of the run it resumed.
func (f *File) ChunkSize() int64 { return f.chunk }

// Missing returns the chunks not yet complete, in order.
func (f *File) Missing() []int {
	var m []int
	for i := range f.done {
		if f.done[i] < f.ChunkLen(i) {
			m = append(m, i)
		}
	}
	return m
}

// Out is the open partial file (nil when closed).
func (f *File) Out() *os.File { return f.out }

// Close closes the partial file.
func (f *File) Close() {
	if f.out != nil {
		f.out.Close()
		f.out = nil
	}
}

// Checkpoint saves which bytes are present, at most every CheckpointEvery
// bytes unless force. The data is written before the state that claims it.
func (f *File) Checkpoint(force bool) {
	f.mu.Lock()
	if !force && f.unsaved < CheckpointEvery {
		f.mu.Unlock()
		return
	}
	f.unsaved = 0
	b, _ := json.Marshal(State{Name: f.Name, Generation: f.Generation, Size: f.Size, Chunk: f.chunk, Done: slices.Clone(f.done)})
	f.mu.Unlock()
	writeAtomic(f.StateFile, b)
}

func writeAtomic(path string, b []byte) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".state-*")
	if err != nil {
		return
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return
	}
	if tmp.Close() == nil {
		os.Rename(tmp.Name(), path)
	}
}

// Span returns the missing bytes of chunk i: [start, end).
func (f *File) Span(i int) (start, end int64) {
	f.mu.Lock()
	have := f.done[i]
	f.mu.Unlock()
	return int64(i)*f.chunk + have, int64(i)*f.chunk + f.ChunkLen(i)
}

// Fill copies body, the bytes [start, end) of chunk i, into place, a
// whole buffer at a time (one write, one wake-up of the reader per
// buffer), calling add with each count written. It returns
// io.ErrUnexpectedEOF when body ends early, a read error as it is, and a
// write error through WrapIO.
func (f *File) Fill(i int, start, end int64, body io.Reader, buf []byte, add func(int64)) error {
	body = io.LimitReader(body, end-start)
	pos := start
	for pos < end {
		n, rerr := io.ReadFull(body, buf[:min(int64(len(buf)), end-pos)])
		if n > 0 {
			if _, err := f.out.WriteAt(buf[:n], pos); err != nil {
				return f.wrap(err)
			}
			if f.OnWrite != nil {
				f.OnWrite(i, buf[:n])
			}
			pos += int64(n)
			f.mu.Lock()
			f.done[i] += int64(n)
			f.unsaved += int64(n)
			f.cond.Broadcast()
			f.mu.Unlock()
			add(int64(n))
			f.Checkpoint(false)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if pos < end {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// frontier is how many bytes from the start of the file are present.
func (f *File) frontier() int64 {
	var n int64
	for i, v := range f.done {
		n += v
		if v < f.ChunkLen(i) {
			break
		}
	}
	return n
}

// Wait blocks until every byte is present; it reports false when ctx ends
// first.
func (f *File) Wait(ctx context.Context) bool {
	cancelled := false
	stop := context.AfterFunc(ctx, func() {
		f.mu.Lock()
		cancelled = true
		f.cond.Broadcast()
		f.mu.Unlock()
	})
	defer stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.frontier() < f.Size && !cancelled {
		f.cond.Wait()
	}
	return f.frontier() >= f.Size
}

// Follow writes the file to w in order as its prefix arrives, so hashing
// overlaps the download, and returns the bytes written; it returns
// cancelled true, and no error, when ctx ends first.
func (f *File) Follow(ctx context.Context, w io.Writer) (n int64, cancelled bool, err error) {
	stop := context.AfterFunc(ctx, func() {
		f.mu.Lock()
		f.cancelled = true
		f.cond.Broadcast()
		f.mu.Unlock()
	})
	defer stop()
	var buf []byte
	var pos int64
	for pos < f.Size {
		f.mu.Lock()
		for f.frontier() <= pos && !f.cancelled {
			f.cond.Wait()
		}
		front, cancelled := f.frontier(), f.cancelled
		f.mu.Unlock()
		if cancelled {
			return pos, true, nil
		}
		if buf == nil {
			buf = make([]byte, min(int64(BufSize/4), f.Size))
		}
		for pos < front {
			n, err := f.out.ReadAt(buf[:min(int64(len(buf)), front-pos)], pos)
			if n > 0 {
				w.Write(buf[:n])
				pos += int64(n)
			}
			if err != nil && !(err == io.EOF && n > 0) {
				return pos, false, f.wrap(fmt.Errorf("reading %s: %w", f.Partial, err))
			}
		}
	}
	return pos, false, nil
}
