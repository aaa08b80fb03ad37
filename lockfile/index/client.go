package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"

	"github.com/hfpack/hfpack/lockfile/cache"
	"github.com/hfpack/hfpack/python/metadata"
)

// Source is what a resolver needs from an index or a set of indexes.
type Source interface {
	// Project returns the files of the named project.
	Project(ctx context.Context, name string) (*Project, error)
	// Metadata returns the core metadata of a wheel listed by Project.
	Metadata(ctx context.Context, f File) (*metadata.Metadata, error)
	// Fetch downloads a file into the cache, verified, and returns its path.
	Fetch(ctx context.Context, f File) (string, error)
	// Size returns a file's size without downloading it where possible.
	Size(ctx context.Context, f File) (int64, error)
}

var (
	_ Source = (*Client)(nil)
	_ Source = (*Multi)(nil)
)

// Client talks to one simple-API index. It is safe for concurrent use and
// remembers the project pages it has fetched.
type Client struct {
	o    *options
	base *url.URL // no credentials, trailing slash
	user *url.Userinfo

	mu       sync.Mutex
	projects map[string]*Project
	flight   singleflight.Group
}

// New returns a client for the index at indexURL (the simple-API base, for
// example "https://pypi.org/simple/"). Credentials in the URL are sent as
// HTTP basic auth to that host only.
func New(indexURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(indexURL))
	if err != nil {
		return nil, fmt.Errorf("parsing index URL %s: %w", Redact(indexURL), errors.Unwrap(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("index URL %s: want an absolute http or https URL", Redact(indexURL))
	}
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	base, user := stripUserinfo(u)
	base.Fragment, base.RawQuery = "", ""
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
		base.RawPath = ""
	}
	return &Client{o: o, base: base, user: user, projects: map[string]*Project{}}, nil
}

// URL returns the index's base URL without credentials.
func (c *Client) URL() string { return c.base.String() }

// Cache returns the client's cache.
func (c *Client) Cache() *cache.Cache { return c.o.cache }

// Project fetches and parses the project page of name. A project the index
// does not have gives an error wrapping ErrNotFound.
func (c *Client) Project(ctx context.Context, name string) (*Project, error) {
	if !ValidName(name) {
		return nil, fmt.Errorf("invalid project name %q", name)
	}
	norm := Normalize(name)
	c.mu.Lock()
	p, ok := c.projects[norm]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	v, err, _ := c.flight.Do(norm, func() (any, error) {
		p, err := c.fetchProject(ctx, norm)
		if err != nil {
			return nil, c.notFound(err)
		}
		for _, w := range p.Warnings {
			c.o.logger.Warn("index page", "index", c.URL(), "project", norm, "warning", w)
		}
		c.mu.Lock()
		c.projects[norm] = p
		c.mu.Unlock()
		return p, nil
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("project %s not found on index %s: %w", norm, c.URL(), err)
		}
		return nil, fmt.Errorf("fetching project %s from %s: %w", norm, c.URL(), err)
	}
	return v.(*Project), nil
}

func (c *Client) fetchProject(ctx context.Context, norm string) (*Project, error) {
	pageURL := c.base.ResolveReference(&url.URL{Path: norm + "/"}).String()
	key := "page\x00" + Accept + "\x00" + pageURL
	entry, cerr := c.o.cache.Lookup(key)
	hit := cerr == nil
	var cached *Project
	if hit {
		if entry.URL == "" {
			entry.URL = pageURL
		}
		cached, hit = c.cachedPage(key, &entry)
	}
	now := c.o.now()
	if hit && entry.Fresh(now) {
		return c.finish(norm, cached), nil
	}
	h := http.Header{"Accept": {Accept}}
	if hit {
		if entry.ETag != "" {
			h.Set("If-None-Match", entry.ETag)
		}
		if entry.LastModified != "" {
			h.Set("If-Modified-Since", entry.LastModified)
		}
	}
	resp, body, err := c.get(ctx, pageURL, h)
	if err != nil {
		return nil, err
	}
	age, store := maxAge(resp.Header)
	if resp.StatusCode == http.StatusNotModified {
		if !hit {
			return nil, fmt.Errorf("GET %s: 304 Not Modified to an unconditional request", Redact(pageURL))
		}
		entry.Stored, entry.MaxAge = now, age
		c.o.cache.Touch(key, entry)
		return c.finish(norm, cached), nil
	}
	final := pageURL
	if resp.Request != nil && resp.Request.URL != nil {
		u, _ := stripUserinfo(resp.Request.URL)
		final = u.String()
	}
	ctype := resp.Header.Get("Content-Type")
	p, err := parsePage(body, ctype, final)
	if err != nil {
		return nil, err // nothing cached
	}
	if store {
		e := cache.Entry{
			URL: final, ContentType: ctype, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"),
			Stored: now, MaxAge: age,
		}
		sum := sha256.Sum256(body)
		if parsed, err := c.o.cache.PutBlob(encodeProject(p, hex.EncodeToString(sum[:]))); err == nil {
			e.Parsed = parsed
		}
		c.o.cache.Put(key, e, body)
	}
	return c.finish(norm, p), nil
}

// cachedPage reads the cached page of entry: its parsed form when that
// is there and was parsed from this body by this parser, else the body,
// parsed again (and the parsed form kept for next time). ok is false, and
// the entry removed, when neither can be read.
func (c *Client) cachedPage(key string, entry *cache.Entry) (p *Project, ok bool) {
	if entry.Parsed != "" {
		if b, err := c.o.cache.ReadBlob(entry.Parsed); err == nil {
			if p, err := decodeProject(b, entry.Digest); err == nil {
				return p, true
			}
		}
	}
	body, err := c.o.cache.ReadBlob(entry.Digest)
	if err == nil {
		p, err = parsePage(body, entry.ContentType, entry.URL)
	}
	if err != nil {
		c.o.cache.Delete(key)
		return nil, false
	}
	if parsed, err := c.o.cache.PutBlob(encodeProject(p, entry.Digest)); err == nil {
		entry.Parsed = parsed
		c.o.cache.Touch(key, *entry)
	}
	return p, true
}

// finish stamps the project name and index URL on the project and its files.
func (c *Client) finish(norm string, p *Project) *Project {
	p.Name = norm
	p.Index = c.URL()
	for i := range p.Files {
		p.Files[i].Index = p.Index
	}
	return p
}

// parsePage parses body as JSON or HTML according to its content type.
func parsePage(body []byte, contentType, pageURL string) (*Project, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	var p *Project
	switch {
	case mt == JSONType:
		p, err = ParseJSON(body, pageURL)
	case mt == HTMLType || mt == "text/html" || mt == "":
		p, err = ParseHTML(body, pageURL)
	case strings.HasPrefix(mt, "application/vnd.pypi.simple.v"):
		return nil, fmt.Errorf("%s: %w: content type %s", Redact(pageURL), ErrUnsupportedAPI, mt)
	default:
		return nil, fmt.Errorf("%s: unexpected content type %q", Redact(pageURL), mt)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Redact(pageURL), err)
	}
	return p, nil
}

// notFound turns the 403 that download.pytorch.org answers for projects it
// does not host into ErrNotFound, as uv does.
func (c *Client) notFound(err error) error {
	var se *StatusError
	if errors.As(err, &se) && se.StatusCode == http.StatusForbidden && c.base.Host == "download.pytorch.org" {
		return fmt.Errorf("%w (%w)", ErrNotFound, err)
	}
	return err
}
