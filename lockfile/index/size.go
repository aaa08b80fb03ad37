package index

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
)

// Size returns f's size in bytes: as the index listed it, else from the
// cached file, else from the Content-Length of a HEAD request, so that a
// lock can record the size of a multi-gigabyte wheel without downloading it.
func (c *Client) Size(ctx context.Context, f File) (int64, error) {
	if f.Size > 0 {
		return f.Size, nil
	}
	if f.SHA256 != "" {
		if st, err := os.Stat(c.o.cache.BlobPath(f.SHA256)); err == nil {
			return st.Size(), nil
		}
	}
	var size int64
	err := c.retry(ctx, func() error {
		req, err := c.newRequest(ctx, f.URL)
		if err != nil {
			return err
		}
		req.Method = http.MethodHead
		resp, err := c.o.httpClient.Do(req)
		if err != nil {
			if transient(ctx, err) {
				return &retryable{err: transportError(f.URL, err)}
			}
			return transportError(f.URL, err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode != http.StatusOK {
			serr := &StatusError{URL: Redact(f.URL), StatusCode: resp.StatusCode}
			if serr.Temporary() {
				return &retryable{err: serr, after: retryAfter(resp.Header.Get("Retry-After"))}
			}
			return serr
		}
		if resp.ContentLength <= 0 {
			return fmt.Errorf("HEAD %s: no Content-Length", Redact(f.URL))
		}
		size = resp.ContentLength
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("finding the size of %s: %w", f.Filename, err)
	}
	return size, nil
}

// Size returns f's size from the index that listed it (see Client.Size).
func (m *Multi) Size(ctx context.Context, f File) (int64, error) {
	c, err := m.client(f)
	if err != nil {
		return 0, err
	}
	return c.Size(ctx, f)
}
