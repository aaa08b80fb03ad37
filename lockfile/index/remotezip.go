package index

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// rangeChunk is how much a remote read fetches at least: the zip central
// directory of most wheels fits in the first (suffix) read.
const rangeChunk = 64 << 10

// errNoRanges means the server answered a range request with the whole file.
var errNoRanges = errors.New("server does not support range requests")

// remoteFile is an io.ReaderAt over HTTP range requests, keeping the
// last window it fetched.
type remoteFile struct {
	c    *Client
	ctx  context.Context
	url  string
	size int64
	win  []byte
	off  int64
}

// openRemote fetches the last rangeChunk bytes of url (a suffix range),
// which also tells the file size.
func (c *Client) openRemote(ctx context.Context, u string) (*remoteFile, error) {
	r := &remoteFile{c: c, ctx: ctx, url: u}
	data, start, total, err := r.fetch(fmt.Sprintf("bytes=-%d", rangeChunk))
	if err != nil {
		return nil, err
	}
	r.win, r.off, r.size = data, start, total
	return r, nil
}

// ReadAt implements io.ReaderAt.
func (r *remoteFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= r.size {
		return 0, io.EOF
	}
	if off < r.off || off+int64(len(p)) > r.off+int64(len(r.win)) {
		end := min(off+max(int64(len(p)), rangeChunk), r.size) - 1
		data, start, _, err := r.fetch(fmt.Sprintf("bytes=%d-%d", off, end))
		if err != nil {
			return 0, err
		}
		r.win, r.off = data, start
	}
	n := copy(p, r.win[off-r.off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// fetch performs one range request and returns the bytes, their offset and
// the total size from Content-Range.
func (r *remoteFile) fetch(rng string) (data []byte, start, total int64, err error) {
	err = r.c.retry(r.ctx, func() error {
		req, err := r.c.newRequest(r.ctx, r.url)
		if err != nil {
			return err
		}
		req.Header.Set("Range", rng)
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := r.c.o.httpClient.Do(req)
		if err != nil {
			if transient(r.ctx, err) {
				return &retryable{err: transportError(r.url, err)}
			}
			return transportError(r.url, err)
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return errNoRanges
		case resp.StatusCode != http.StatusPartialContent:
			serr := &StatusError{URL: Redact(r.url), StatusCode: resp.StatusCode}
			if serr.Temporary() {
				return &retryable{err: serr, after: retryAfter(resp.Header.Get("Retry-After"))}
			}
			return serr
		}
		var end int64
		start, end, total, err = parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return fmt.Errorf("GET %s: %w", Redact(r.url), err)
		}
		data, err = io.ReadAll(io.LimitReader(resp.Body, end-start+2))
		if err != nil {
			if transient(r.ctx, err) {
				return &retryable{err: transportError(r.url, err)}
			}
			return transportError(r.url, err)
		}
		if int64(len(data)) != end-start+1 {
			return &retryable{err: fmt.Errorf("GET %s: range response of %d bytes, want %d", Redact(r.url), len(data), end-start+1)}
		}
		return nil
	})
	return data, start, total, err
}

// parseContentRange parses "bytes START-END/TOTAL".
func parseContentRange(v string) (start, end, total int64, err error) {
	bad := fmt.Errorf("malformed Content-Range %q", v)
	rest, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !ok {
		return 0, 0, 0, bad
	}
	rng, tot, ok := strings.Cut(rest, "/")
	s, e, ok2 := strings.Cut(rng, "-")
	if !ok || !ok2 {
		return 0, 0, 0, bad
	}
	start, err1 := strconv.ParseInt(s, 10, 64)
	end, err2 := strconv.ParseInt(e, 10, 64)
	total, err3 := strconv.ParseInt(tot, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || start < 0 || end < start || total <= end || end-start >= maxPageSize {
		return 0, 0, 0, bad
	}
	return start, end, total, nil
}

// rangeMetadata reads the wheel's METADATA member with range requests,
// without downloading the wheel. It returns errNoRanges when the server
// ignores ranges.
func (c *Client) rangeMetadata(ctx context.Context, f File) ([]byte, error) {
	r, err := c.openRemote(ctx, f.URL)
	if err != nil {
		return nil, err
	}
	if f.Size > 0 && f.Size != r.size {
		return nil, fmt.Errorf("%s is %d bytes, the index said %d", Redact(f.URL), r.size, f.Size)
	}
	zr, err := zip.NewReader(r, r.size)
	if err != nil {
		return nil, fmt.Errorf("reading remote wheel %s: %w", Redact(f.URL), err)
	}
	return readWheelMetadata(zr, f.Filename)
}
