package gcs

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hfpack/hfpack/hub"
)

// Defaults of Download.
const (
	DefaultConcurrency = 8
	DefaultChunkSize   = 32 << 20
	// StageDir, inside the destination, holds partial files and their
	// progress until they are verified; its presence means a download
	// was interrupted and will resume.
	StageDir = ".hfpack-download"

	bufSize         = 1 << 20
	checkpointEvery = 16 << 20
	attempts        = 5
)

// ErrChecksum reports a downloaded object whose size, CRC32C or MD5 does
// not match what GCS reported for it.
var ErrChecksum = errors.New("checksum mismatch")

// file is an object and where it goes.
type file struct {
	object
	dest string
}

// download fetches files into their destinations: those already in place
// and verified are kept, the others are fetched in chunks; a file whose
// bytes do not verify is fetched once more from scratch, then refused.
func download(ctx context.Context, o options, bucket, dir string, files []file) error {
	prog := o.progress
	if prog == nil {
		prog = &Progress{}
	}
	var total int64
	for _, f := range files {
		total += f.Size
	}
	prog.begin(len(files), total)
	stage := filepath.Join(dir, StageDir)
	var todo []*transfer
	for _, f := range files {
		if present(f) {
			prog.resume(f.Size)
			prog.fileDone()
			continue
		}
		todo = append(todo, &transfer{o: o, bucket: bucket, stage: stage, file: f, prog: prog})
	}
	if len(todo) > 0 {
		if err := os.MkdirAll(stage, 0o755); err != nil {
			return err
		}
	}
	for r := 0; len(todo) > 0; r++ {
		bad, err := round(ctx, o, todo, r > 0)
		if err != nil {
			return err
		}
		if r > 0 && len(bad) > 0 {
			for _, t := range bad {
				os.Remove(t.partial())
				os.Remove(t.stateFile())
			}
			t := bad[0]
			return fmt.Errorf("downloading gs://%s/%s: %w twice: %v; the object changed or the network corrupts it", bucket, t.Name, ErrChecksum, t.mismatch)
		}
		todo = bad
	}
	if err := os.RemoveAll(stage); err != nil {
		return err
	}
	prog.finish()
	return nil
}

// present reports whether f is already at its destination, verified (a
// download that was interrupted after renaming it into place).
func present(f file) bool {
	fi, err := os.Lstat(f.dest)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != f.Size {
		return false
	}
	h, _, err := f.hasher()
	if err != nil {
		return false
	}
	fh, err := os.Open(f.dest)
	if err != nil {
		return false
	}
	defer fh.Close()
	if _, err := io.Copy(h, fh); err != nil {
		return false
	}
	return f.check(h, fi.Size()) == nil
}

// hasher returns the hash GCS reported for the object: CRC32C, else MD5
// (composite objects have no MD5), else none (size only).
func (f file) hasher() (hash.Hash, string, error) {
	switch {
	case f.CRC32C != "":
		b, err := base64.StdEncoding.DecodeString(f.CRC32C)
		if err != nil || len(b) != 4 {
			return nil, "", fmt.Errorf("bad crc32c %q in listing of %s", f.CRC32C, f.Name)
		}
		return crc32.New(crc32.MakeTable(crc32.Castagnoli)), "crc32c", nil
	case f.MD5Hash != "":
		b, err := base64.StdEncoding.DecodeString(f.MD5Hash)
		if err != nil || len(b) != md5.Size {
			return nil, "", fmt.Errorf("bad md5Hash %q in listing of %s", f.MD5Hash, f.Name)
		}
		return md5.New(), "md5", nil
	}
	return nopHash{}, "size", nil
}

// check compares what was read with what GCS reported.
func (f file) check(h hash.Hash, size int64) error {
	if size != f.Size {
		return fmt.Errorf("%w: got %d bytes, want %d", ErrChecksum, size, f.Size)
	}
	var want []byte
	name := ""
	switch {
	case f.CRC32C != "":
		want, _ = base64.StdEncoding.DecodeString(f.CRC32C)
		name = "crc32c"
	case f.MD5Hash != "":
		want, _ = base64.StdEncoding.DecodeString(f.MD5Hash)
		name = "md5"
	default:
		return nil
	}
	if got := h.Sum(nil); !slices.Equal(got, want) {
		return fmt.Errorf("%w: %s %x, want %x", ErrChecksum, name, got, want)
	}
	return nil
}

type nopHash struct{}

func (nopHash) Write(p []byte) (int, error) { return len(p), nil }
func (nopHash) Sum(b []byte) []byte         { return b }
func (nopHash) Reset()                      {}
func (nopHash) Size() int                   { return 0 }
func (nopHash) BlockSize() int              { return 1 }

// round downloads todo (from scratch when fresh) over o.jobs connections
// and returns the transfers whose bytes did not verify.
func round(ctx context.Context, o options, todo []*transfer, fresh bool) ([]*transfer, error) {
	type job struct {
		t *transfer
		i int
	}
	var (
		badMu sync.Mutex
		bad   []*transfer
	)
	g, gctx := errgroup.WithContext(ctx)
	next := make(chan job)
	var opened []*transfer
	var openedMu sync.Mutex
	g.Go(func() error {
		defer close(next)
		for _, t := range todo {
			have, err := t.open(o.chunk, fresh)
			if err != nil {
				return err
			}
			openedMu.Lock()
			opened = append(opened, t)
			openedMu.Unlock()
			t.prog.resume(have)
			g.Go(func() error {
				ok, err := t.verify(gctx)
				if err == nil && !ok {
					badMu.Lock()
					bad = append(bad, t)
					badMu.Unlock()
				}
				return err
			})
			for i := range t.done {
				if t.done[i] >= t.chunkLen(i) {
					continue
				}
				select {
				case next <- job{t, i}:
				case <-gctx.Done():
					return nil
				}
			}
		}
		return nil
	})
	for range o.jobs {
		g.Go(func() error {
			var buf []byte
			for j := range next {
				if buf == nil {
					buf = make([]byte, bufSize)
				}
				if err := j.t.fetchChunk(gctx, j.i, buf); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err := g.Wait()
	for _, t := range opened {
		if err != nil {
			t.checkpoint(true)
		}
		t.close()
	}
	if err != nil {
		return nil, err
	}
	return bad, nil
}

// transfer is one object being fetched into its partial file.
type transfer struct {
	o      options
	bucket string
	stage  string
	file
	prog *Progress

	out   *os.File
	chunk int64

	mu        sync.Mutex
	cond      *sync.Cond
	done      []int64 // bytes present from the start of each chunk
	unsaved   int64
	cancelled bool
	mismatch  error
}

type state struct {
	Name       string  `json:"name"`
	Generation string  `json:"generation"`
	Size       int64   `json:"size"`
	Chunk      int64   `json:"chunk"`
	Done       []int64 `json:"done"`
}

func (t *transfer) base() string {
	sum := sha256.Sum256([]byte(t.Name))
	return filepath.Join(t.stage, hex.EncodeToString(sum[:12]))
}
func (t *transfer) partial() string   { return t.base() + ".partial" }
func (t *transfer) stateFile() string { return t.base() + ".state" }

func chunks(size, chunk int64) int { return max(1, int((size+chunk-1)/chunk)) }

func (t *transfer) chunkLen(i int) int64 {
	return max(0, min(t.chunk, t.Size-int64(i)*t.chunk))
}

// open opens the partial file, resuming the chunks a previous run saved
// for the same generation unless fresh, and returns the bytes present.
func (t *transfer) open(chunk int64, fresh bool) (int64, error) {
	t.cond = sync.NewCond(&t.mu)
	t.cancelled, t.mismatch = false, nil
	st := state{Name: t.Name, Generation: t.Generation, Size: t.Size, Chunk: chunk, Done: make([]int64, chunks(t.Size, chunk))}
	resumed := false
	if !fresh {
		if b, err := os.ReadFile(t.stateFile()); err == nil {
			var old state
			if json.Unmarshal(b, &old) == nil && old.Name == t.Name && old.Generation == t.Generation &&
				old.Size == t.Size && old.Chunk > 0 && len(old.Done) == chunks(old.Size, old.Chunk) {
				st, resumed = old, true
			}
		}
	}
	out, err := os.OpenFile(t.partial(), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, err
	}
	t.out, t.chunk, t.done = out, st.Chunk, st.Done
	var have int64
	for i, v := range t.done {
		if v < 0 || v > t.chunkLen(i) {
			resumed = false
			break
		}
		have += v
	}
	if fi, err := out.Stat(); !resumed || err != nil || fi.Size() > t.Size {
		if err := out.Truncate(0); err != nil {
			out.Close()
			return 0, err
		}
		clear(t.done)
		have = 0
	}
	return have, nil
}

func (t *transfer) close() {
	if t.out != nil {
		t.out.Close()
		t.out = nil
	}
}

// checkpoint saves which bytes are present, at most every checkpointEvery
// bytes unless force. The data is written before the state that claims it.
func (t *transfer) checkpoint(force bool) {
	t.mu.Lock()
	if !force && t.unsaved < checkpointEvery {
		t.mu.Unlock()
		return
	}
	t.unsaved = 0
	b, _ := json.Marshal(state{Name: t.Name, Generation: t.Generation, Size: t.Size, Chunk: t.chunk, Done: slices.Clone(t.done)})
	t.mu.Unlock()
	tmp := t.stateFile() + ".tmp"
	if os.WriteFile(tmp, b, 0o644) == nil {
		os.Rename(tmp, t.stateFile())
	}
}

// fetchChunk downloads the rest of chunk i, retrying transient failures
// from where the last attempt stopped.
func (t *transfer) fetchChunk(ctx context.Context, i int, buf []byte) error {
	var last error
	for a := 0; a < attempts; a++ {
		if a > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond << a):
			}
		}
		err := t.get(ctx, i, buf)
		if err == nil {
			t.checkpoint(true)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var se *StatusError
		if errors.As(err, &se) && !(se.Code == http.StatusTooManyRequests || se.Code == http.StatusRequestTimeout || se.Code >= 500) {
			return fmt.Errorf("downloading gs://%s/%s: %w", t.bucket, t.Name, err)
		}
		var ne net.Error
		if !errors.As(err, &se) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &ne) && !errors.Is(err, errBadRange) {
			return fmt.Errorf("downloading gs://%s/%s: %w", t.bucket, t.Name, err)
		}
		last = err
	}
	return fmt.Errorf("downloading gs://%s/%s: %d attempts: %w", t.bucket, t.Name, attempts, last)
}

var errBadRange = errors.New("server answered a different range")

// get requests the missing bytes of chunk i and writes them in place.
func (t *transfer) get(ctx context.Context, i int, buf []byte) error {
	t.mu.Lock()
	have := t.done[i]
	t.mu.Unlock()
	start := int64(i)*t.chunk + have
	end := int64(i)*t.chunk + t.chunkLen(i) // exclusive
	if start >= end {
		return nil
	}
	q := url.Values{"alt": {"media"}}
	if t.Generation != "" {
		q.Set("generation", t.Generation) // the bytes the listing described, even if the object is replaced
	}
	u := t.o.endpoint + "/storage/v1/b/" + url.PathEscape(t.bucket) + "/o/" + url.PathEscape(t.Name) + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", start, end-1))
	resp, err := t.o.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body := io.Reader(resp.Body)
	switch resp.StatusCode {
	case http.StatusPartialContent:
		first, lst, total, err := hub.ParseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || first != start || lst >= end || total >= 0 && total != t.Size {
			return fmt.Errorf("%w: asked for bytes %d-%d of %d, got %q", errBadRange, start, end-1, t.Size, resp.Header.Get("Content-Range"))
		}
	case http.StatusOK:
		// The server ignored Range: skip to the bytes this chunk needs.
		if _, err := io.CopyN(io.Discard, body, start); err != nil {
			return io.ErrUnexpectedEOF
		}
	default:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return &StatusError{Code: resp.StatusCode, Body: string(msg)}
	}
	body = io.LimitReader(body, end-start)
	pos := start
	for pos < end {
		n, rerr := io.ReadFull(body, buf[:min(int64(len(buf)), end-pos)])
		if n > 0 {
			if _, err := t.out.WriteAt(buf[:n], pos); err != nil {
				return err
			}
			pos += int64(n)
			t.mu.Lock()
			t.done[i] += int64(n)
			t.unsaved += int64(n)
			t.cond.Broadcast()
			t.mu.Unlock()
			t.prog.add(int64(n))
			t.checkpoint(false)
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
func (t *transfer) frontier() int64 {
	var n int64
	for i, v := range t.done {
		n += v
		if v < t.chunkLen(i) {
			break
		}
	}
	return n
}

// verify hashes the file in order as its prefix arrives, so checking
// overlaps the download; when every byte is in, it renames a verified file
// into place and reports true, or discards it and reports false.
func (t *transfer) verify(ctx context.Context) (bool, error) {
	stop := context.AfterFunc(ctx, func() {
		t.mu.Lock()
		t.cancelled = true
		t.cond.Broadcast()
		t.mu.Unlock()
	})
	defer stop()
	h, _, err := t.hasher()
	if err != nil {
		return false, err
	}
	var buf []byte
	var pos int64
	for pos < t.Size {
		t.mu.Lock()
		for t.frontier() <= pos && !t.cancelled {
			t.cond.Wait()
		}
		front, cancelled := t.frontier(), t.cancelled
		t.mu.Unlock()
		if cancelled {
			return true, nil
		}
		if buf == nil {
			buf = make([]byte, min(bufSize/4, t.Size))
		}
		for pos < front {
			n, err := t.out.ReadAt(buf[:min(int64(len(buf)), front-pos)], pos)
			h.Write(buf[:n])
			pos += int64(n)
			if err != nil && !(err == io.EOF && n > 0) {
				return false, fmt.Errorf("reading %s: %w", t.partial(), err)
			}
		}
	}
	if err := t.check(h, pos); err != nil {
		t.mismatch = err
		t.prog.resume(-pos)
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(t.dest), 0o755); err != nil {
		return false, err
	}
	if err := os.Rename(t.partial(), t.dest); err != nil {
		return false, err
	}
	os.Remove(t.stateFile())
	t.prog.fileDone()
	return true, nil
}
