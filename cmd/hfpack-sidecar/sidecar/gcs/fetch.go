package gcs

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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
	"github.com/hfpack/hfpack/hub/rangefetch"
)

// Defaults of Download.
const (
	DefaultConcurrency = 8
	DefaultChunkSize   = 32 << 20
	// StageDir, inside the destination, holds partial files and their
	// progress until they are verified; its presence means a download
	// was interrupted and will resume.
	StageDir = ".hfpack-download"

	attempts = 5
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
		todo = append(todo, newTransfer(o, bucket, stage, f, prog))
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
				os.Remove(t.Partial)
				os.Remove(t.StateFile)
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
			for _, i := range t.Missing() {
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
					buf = make([]byte, rangefetch.BufSize)
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
			t.Checkpoint(true)
		}
		t.Close()
	}
	if err != nil {
		return nil, err
	}
	return bad, nil
}

// transfer is one object being fetched into its partial file.
type transfer struct {
	rangefetch.File
	o      options
	bucket string
	file
	prog *Progress

	mismatch error

	// With a CRC32C to check, each chunk is hashed as its bytes land and
	// the chunks' CRCs are combined at the end: the file is not read again.
	inline bool
	crcs   []chunkCRC
}

// chunkCRC is the CRC32C of one chunk's bytes: those an earlier run left
// (read back from the partial file) and those this run wrote.
type chunkCRC struct {
	resumed, fetched       uint32
	resumedLen, fetchedLen int64
}

func newTransfer(o options, bucket, stage string, f file, prog *Progress) *transfer {
	sum := sha256.Sum256([]byte(f.Name))
	base := filepath.Join(stage, hex.EncodeToString(sum[:12]))
	t := &transfer{
		File: rangefetch.File{
			Name: f.Name, Generation: f.Generation, Size: f.Size,
			Partial: base + ".partial", StateFile: base + ".state",
		},
		o: o, bucket: bucket, file: f, prog: prog,
		inline: f.CRC32C != "",
	}
	if t.inline {
		t.OnWrite = func(i int, p []byte) {
			c := &t.crcs[i]
			c.fetched = crc32.Update(c.fetched, castagnoli, p)
			c.fetchedLen += int64(len(p))
		}
	}
	return t
}

// open opens the partial file, resuming the chunks a previous run saved
// for the same generation unless fresh, and returns the bytes present.
func (t *transfer) open(chunk int64, fresh bool) (int64, error) {
	t.mismatch = nil
	have, err := t.Open(chunk, fresh)
	if err != nil || !t.inline {
		return have, err
	}
	t.crcs = make([]chunkCRC, rangefetch.Chunks(t.Size, t.ChunkSize()))
	for i := range t.crcs {
		start, _ := t.Span(i)
		t.crcs[i].resumedLen = start - int64(i)*t.ChunkSize()
	}
	return have, nil
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
			t.Checkpoint(true)
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
	start, end := t.Span(i) // end exclusive
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
	return t.Fill(i, start, end, body, buf, t.prog.add)
}

// verify hashes the file in order as its prefix arrives, so checking
// overlaps the download; when every byte is in, it renames a verified file
// into place and reports true, or discards it and reports false.
func (t *transfer) verify(ctx context.Context) (bool, error) {
	h, _, err := t.hasher()
	if err != nil {
		return false, err
	}
	var pos int64
	cancelled := false
	if t.inline {
		h, pos, cancelled, err = t.combined(ctx)
	} else {
		pos, cancelled, err = t.Follow(ctx, h)
	}
	if err != nil {
		return false, err
	}
	if cancelled {
		return true, nil
	}
	if err := t.check(h, pos); err != nil {
		t.mismatch = err
		t.prog.resume(-pos)
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(t.dest), 0o755); err != nil {
		return false, err
	}
	if err := os.Rename(t.Partial, t.dest); err != nil {
		return false, err
	}
	os.Remove(t.StateFile)
	t.prog.fileDone()
	return true, nil
}

// combined reads back the bytes an earlier run left, waits for the rest to
// land (hashed by OnWrite as they did) and returns the file's CRC32C,
// combined from its chunks', and its size; cancelled when ctx ended first.
func (t *transfer) combined(ctx context.Context) (h hash.Hash, size int64, cancelled bool, err error) {
	cs := t.ChunkSize()
	for i := range t.crcs {
		c := &t.crcs[i]
		if c.resumedLen == 0 {
			continue
		}
		rh := crc32.New(castagnoli)
		if _, err := io.Copy(rh, io.NewSectionReader(t.Out(), int64(i)*cs, c.resumedLen)); err != nil {
			return nil, 0, false, fmt.Errorf("reading %s: %w", t.Partial, err)
		}
		c.resumed = rh.Sum32()
	}
	if !t.Wait(ctx) {
		return nil, 0, true, nil
	}
	var crc uint32
	for _, c := range t.crcs {
		chunk := crc32cCombine(c.resumed, c.fetched, c.fetchedLen)
		crc = crc32cCombine(crc, chunk, c.resumedLen+c.fetchedLen)
		size += c.resumedLen + c.fetchedLen
	}
	return sum32(crc), size, false, nil
}
