package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client speaks to one Hub endpoint.
type Client struct {
	endpoint  string
	host      string // scheme://host[:port] of endpoint: the only place the token goes
	token     string
	tokenEnv  string
	http      *http.Client
	userAgent string
	retries   int
	backoff   time.Duration
}

// Option configures a Client.
type Option func(*Client)

// WithToken sends token (a Hugging Face access token) to the endpoint's
// host; env names the variable it came from, for error messages.
func WithToken(token, env string) Option {
	return func(c *Client) { c.token, c.tokenEnv = token, env }
}

// WithHTTPClient replaces the HTTP client (default: one with a
// per-host connection pool sized for parallel downloads). Its redirect
// policy is replaced: the client follows redirects itself.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithRetries sets how often a request failing with a network error, 408,
// 429 or 5xx is retried (default 4), and the first backoff (doubling;
// default 250ms).
func WithRetries(n int, backoff time.Duration) Option {
	return func(c *Client) { c.retries, c.backoff = n, backoff }
}

// NewClient returns a client of the Hub at endpoint (such as
// EndpointFromEnv()).
func NewClient(endpoint string, opts ...Option) (*Client, error) {
	endpoint = strings.TrimRight(endpoint, "/")
	if err := ValidEndpoint(endpoint); err != nil {
		return nil, err
	}
	u, _ := url.Parse(endpoint)
	c := &Client{endpoint: endpoint, host: u.Scheme + "://" + u.Host, userAgent: "hfpack", retries: 4, backoff: 250 * time.Millisecond}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
		tr.DisableCompression = true // sizes and hashes are of the raw bytes
		c.http = &http.Client{Transport: tr}
	}
	h := *c.http
	h.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = &h
	return c, nil
}

// Endpoint is the Hub's base URL.
func (c *Client) Endpoint() string { return c.endpoint }

// String never shows the token.
func (c *Client) String() string { return "hub.Client(" + c.endpoint + ")" }

// GoString never shows the token.
func (c *Client) GoString() string { return c.String() }

// sameHost reports whether u is on the endpoint's scheme, host and port.
func (c *Client) sameHost(u *url.URL) bool { return u.Scheme+"://"+u.Host == c.host }

// do sends one request to u, following up to 10 redirects itself so that
// the token goes to the endpoint's host only, never to a file host another
// redirect leads to. With follow false, a redirect to another host is
// returned as is (its Location is the file's download URL). Network errors
// and temporary statuses are retried.
func (c *Client) do(ctx context.Context, method, u string, hdr http.Header, follow bool) (*http.Response, error) {
	var last error
	for attempt := 0; attempt <= c.retries; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, c.backoff<<(attempt-1)); err != nil {
				return nil, err
			}
		}
		resp, err := c.once(ctx, method, u, hdr, follow)
		if err == nil && !retryStatus(resp.StatusCode) {
			return resp, nil
		}
		if err == nil {
			drain(resp)
			last = &HTTPError{Method: method, URL: stripQuery(u), Status: resp.StatusCode}
			continue
		}
		if ctx.Err() != nil || !retryable(err) {
			return nil, err
		}
		last = err
	}
	return nil, last
}

func (c *Client) once(ctx context.Context, method, u string, hdr http.Header, follow bool) (*http.Response, error) {
	for hops := 0; ; hops++ {
		req, err := http.NewRequestWithContext(ctx, method, u, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		req.Header.Set("User-Agent", c.userAgent)
		req.Header.Set("Accept-Encoding", "identity")
		if c.token != "" && c.sameHost(req.URL) {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, redactErr(err)
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || resp.StatusCode == http.StatusNotModified || loc == "" {
			return resp, nil
		}
		next, err := req.URL.Parse(loc)
		if err != nil || (next.Scheme != "http" && next.Scheme != "https") {
			drain(resp)
			return nil, fmt.Errorf("%s %s: bad redirect", method, stripQuery(u))
		}
		if !follow && !c.sameHost(next) {
			return resp, nil
		}
		if hops >= 10 {
			drain(resp)
			return nil, fmt.Errorf("%s %s: too many redirects", method, stripQuery(u))
		}
		drain(resp)
		u = next.String()
	}
}

// redactErr drops the query of the URL in a *url.Error (signed URLs).
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: stripQuery(ue.URL), Err: ue.Err}
	}
	return err
}

func retryStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

func retryable(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "connection reset")
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// drain discards a little of the body so the connection can be reused.
func drain(resp *http.Response) {
	io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}

// Info is a model's listing at one commit.
type Info struct {
	// Commit is the full commit id the revision pointed at.
	Commit string
	// Files are the repository's files, in the Hub's order.
	Files []Sibling
}

// Sibling is one file of a repository.
type Sibling struct {
	Path string
	Size int64
	// SHA256 is the LFS object id; "" for files stored in git itself.
	SHA256 string
	// GitOID is the git blob id (40 hex digits: the sha1 of "blob SIZE\0"
	// and the bytes), when the listing gives one; for a file stored in git
	// it names the bytes Resolve downloads.
	GitOID string
}

// maxInfo bounds a model-info response: a repository of 100,000 files.
const maxInfo = 64 << 20

// ModelInfo lists the files of repo at revision (a branch, tag or commit)
// with their sizes and LFS hashes: GET /api/models/{repo}/revision/{rev}?blobs=true.
func (c *Client) ModelInfo(ctx context.Context, repo, revision string) (*Info, error) {
	u := fmt.Sprintf("%s/api/models/%s/revision/%s?blobs=true", c.endpoint, repo, url.PathEscape(revision))
	resp, err := c.do(ctx, http.MethodGet, u, http.Header{"Accept": {"application/json"}}, true)
	if err != nil {
		return nil, fmt.Errorf("reading model %s at %s: %w", repo, revision, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.fault(resp, repo, revision, "")
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxInfo+1))
	if err != nil {
		return nil, fmt.Errorf("reading model %s at %s: %w", repo, revision, redactErr(err))
	}
	if len(body) > maxInfo {
		return nil, fmt.Errorf("reading model %s at %s: the listing is larger than %d bytes", repo, revision, maxInfo)
	}
	info, err := ParseModelInfo(body)
	if err != nil {
		return nil, fmt.Errorf("reading model %s at %s from %s: %w", repo, revision, c.endpoint, err)
	}
	return info, nil
}

// ParseModelInfo decodes and checks a model-info response: a 40-hex
// commit, valid unique paths, sizes, and 64-hex LFS hashes.
func ParseModelInfo(body []byte) (*Info, error) {
	var raw struct {
		SHA      string `json:"sha"`
		Siblings []struct {
			RFilename string `json:"rfilename"`
			BlobID    string `json:"blobId"`
			Size      *int64 `json:"size"`
			LFS       *struct {
				SHA256 string `json:"sha256"`
				OID    string `json:"oid"`
				Size   *int64 `json:"size"`
			} `json:"lfs"`
		} `json:"siblings"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("not a model listing: %w", err)
	}
	if !IsCommit(raw.SHA) {
		return nil, fmt.Errorf("the listing names no commit (sha %q)", clip(raw.SHA))
	}
	info := &Info{Commit: raw.SHA}
	seen := map[string]bool{}
	for _, s := range raw.Siblings {
		if err := ValidPath(s.RFilename); err != nil {
			return nil, err
		}
		if seen[s.RFilename] {
			return nil, fmt.Errorf("file %q is listed twice", s.RFilename)
		}
		seen[s.RFilename] = true
		f := Sibling{Path: s.RFilename, Size: -1}
		if isHex(s.BlobID, 40) {
			f.GitOID = s.BlobID
		}
		if s.Size != nil {
			f.Size = *s.Size
		}
		if l := s.LFS; l != nil {
			f.SHA256 = l.SHA256
			if f.SHA256 == "" {
				f.SHA256 = strings.TrimPrefix(l.OID, "sha256:")
			}
			if !isHex(f.SHA256, 64) {
				return nil, fmt.Errorf("file %q: LFS sha256 %q is not 64 hex digits", s.RFilename, clip(f.SHA256))
			}
			if l.Size != nil {
				if f.Size >= 0 && f.Size != *l.Size {
					return nil, fmt.Errorf("file %q: size %d and LFS size %d differ", s.RFilename, f.Size, *l.Size)
				}
				f.Size = *l.Size
			}
		}
		if f.Size < -1 || s.Size != nil && *s.Size < 0 {
			return nil, fmt.Errorf("file %q: negative size", s.RFilename)
		}
		info.Files = append(info.Files, f)
	}
	return info, nil
}

// resolveURL is {endpoint}/{repo}/resolve/{revision}/{path}.
func (c *Client) resolveURL(repo, revision, file string) string {
	parts := strings.Split(file, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return fmt.Sprintf("%s/%s/resolve/%s/%s", c.endpoint, repo, url.PathEscape(revision), strings.Join(parts, "/"))
}
