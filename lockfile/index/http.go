package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxPageSize caps an index page or metadata file held in memory.
const maxPageSize = 256 << 20

// retryable marks an attempt's error as worth retrying, after at least
// `after` when the server said so.
type retryable struct {
	err   error
	after time.Duration
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

// newRequest builds a GET for u, adding the index credentials only when u
// is on the index's own scheme and host.
func (c *Client) newRequest(ctx context.Context, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("building request for %s: %w", Redact(u), err)
	}
	req.Header.Set("User-Agent", c.o.userAgent)
	if c.user != nil && req.URL.Scheme == c.base.Scheme && req.URL.Host == c.base.Host {
		pass, _ := c.user.Password()
		req.SetBasicAuth(c.user.Username(), pass)
	}
	return req, nil
}

// retry runs attempt until it succeeds, fails permanently, or the retries
// run out. attempt marks transient failures with *retryable.
func (c *Client) retry(ctx context.Context, attempt func() error) error {
	for n := 0; ; n++ {
		err := attempt()
		var r *retryable
		if err == nil || !errors.As(err, &r) {
			return err
		}
		if n >= c.o.retries {
			return r.err
		}
		wait := c.backoff(n)
		if r.after > wait {
			wait = min(r.after, c.o.backoffMax)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (giving up after %d attempts: %w)", r.err, n+1, ctx.Err())
		case <-t.C:
		}
	}
}

// backoff returns a random delay in [0, min(max, base*2^n)] ("full jitter").
func (c *Client) backoff(n int) time.Duration {
	d := c.o.backoffBase << min(n, 30)
	if d <= 0 || d > c.o.backoffMax {
		d = c.o.backoffMax
	}
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// transient reports whether a transport error is worth retrying.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var ne net.Error
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || (errors.As(err, &ne) && ne.Timeout())
}

// transportError rewrites an http.Client error so that it names the
// redacted URL once and carries no credentials.
func transportError(u string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("GET %s: %w", Redact(u), err)
}

// get performs one GET and reads the body (at most maxPageSize bytes).
// It returns the response (body closed) with its content, marking
// transient failures retryable. Statuses other than 200 and 304 are
// *StatusError.
func (c *Client) get(ctx context.Context, u string, header http.Header) (*http.Response, []byte, error) {
	var resp *http.Response
	var body []byte
	err := c.retry(ctx, func() error {
		req, err := c.newRequest(ctx, u)
		if err != nil {
			return err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err = c.o.httpClient.Do(req)
		if err != nil {
			if transient(ctx, err) {
				return &retryable{err: transportError(u, err)}
			}
			return transportError(u, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotModified {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			serr := &StatusError{URL: Redact(u), StatusCode: resp.StatusCode}
			if serr.Temporary() {
				return &retryable{err: serr, after: retryAfter(resp.Header.Get("Retry-After"))}
			}
			return serr
		}
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxPageSize+1))
		if err != nil {
			if transient(ctx, err) {
				return &retryable{err: transportError(u, err)}
			}
			return transportError(u, err)
		}
		if len(body) > maxPageSize {
			return fmt.Errorf("GET %s: response larger than %d bytes", Redact(u), maxPageSize)
		}
		return nil
	})
	return resp, body, err
}

// retryAfter parses a Retry-After header given in seconds.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// maxAge returns the freshness lifetime from Cache-Control, and whether the
// response may be stored at all.
func maxAge(h http.Header) (time.Duration, bool) {
	var age time.Duration
	for _, d := range strings.Split(h.Get("Cache-Control"), ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case d == "no-store":
			return 0, false
		case d == "no-cache":
			return 0, true
		case strings.HasPrefix(d, "max-age="):
			if n, err := strconv.Atoi(strings.TrimPrefix(d, "max-age=")); err == nil && n > 0 {
				age = time.Duration(n) * time.Second
			}
		}
	}
	return age, true
}
