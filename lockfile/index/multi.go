package index

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hfpack/hfpack/python/metadata"
)

// Route is one index besides the default, as a manifest's
// [[python.index]] entry declares it.
type Route struct {
	// URL is the index's simple-API base URL (credentials allowed).
	URL string
	// Packages lists the projects this index serves. A non-empty list makes
	// the index explicit: it serves only these projects, and they are never
	// looked up anywhere else. An empty list makes it a general index,
	// consulted (in order) before the default.
	Packages []string
}

// Multi routes each project to exactly one index (uv's first-index
// strategy): a project named by an explicit route goes only to that index;
// any other project goes to the first general index that has it, the
// default index last. An error other than "not found" from an index stops
// the search rather than falling through to the next one.
type Multi struct {
	def      *Client
	general  []*Client
	explicit map[string]*Client
	byURL    map[string]*Client
}

// NewMulti returns a router over defaultURL (may be empty for none) and
// routes. The same options apply to every index; they share one cache.
func NewMulti(defaultURL string, routes []Route, opts ...Option) (*Multi, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	shared := append(append([]Option(nil), opts...), WithCache(o.cache))
	m := &Multi{explicit: map[string]*Client{}, byURL: map[string]*Client{}}
	add := func(u string) (*Client, error) {
		c, err := New(u, shared...)
		if err != nil {
			return nil, err
		}
		if prev, ok := m.byURL[c.URL()]; ok {
			return prev, nil
		}
		m.byURL[c.URL()] = c
		return c, nil
	}
	for _, r := range routes {
		c, err := add(r.URL)
		if err != nil {
			return nil, err
		}
		if len(r.Packages) == 0 {
			m.general = append(m.general, c)
			continue
		}
		for _, p := range r.Packages {
			if !ValidName(p) {
				return nil, fmt.Errorf("index %s: invalid package name %q", c.URL(), p)
			}
			n := Normalize(p)
			if prev, ok := m.explicit[n]; ok && prev != c {
				return nil, fmt.Errorf("package %s is pinned to two indexes: %s and %s", n, prev.URL(), c.URL())
			}
			m.explicit[n] = c
		}
	}
	if strings.TrimSpace(defaultURL) != "" {
		if m.def, err = add(defaultURL); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// candidates returns the indexes that may serve name, in order.
func (m *Multi) candidates(name string) []*Client {
	if c, ok := m.explicit[Normalize(name)]; ok {
		return []*Client{c}
	}
	out := append([]*Client(nil), m.general...)
	if m.def != nil {
		out = append(out, m.def)
	}
	return out
}

// Explicit reports the index a project is pinned to, if any.
func (m *Multi) Explicit(name string) (string, bool) {
	c, ok := m.explicit[Normalize(name)]
	if !ok {
		return "", false
	}
	return c.URL(), true
}

// Project returns name's page from the one index that serves it.
func (m *Multi) Project(ctx context.Context, name string) (*Project, error) {
	cands := m.candidates(name)
	if len(cands) == 0 {
		return nil, fmt.Errorf("project %s: no index configured", Normalize(name))
	}
	if len(cands) == 1 {
		return cands[0].Project(ctx, name)
	}
	var urls []string
	for _, c := range cands {
		p, err := c.Project(ctx, name)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		urls = append(urls, c.URL())
	}
	return nil, fmt.Errorf("project %s not found on %s: %w", Normalize(name), strings.Join(urls, ", "), ErrNotFound)
}

func (m *Multi) client(f File) (*Client, error) {
	c, ok := m.byURL[f.Index]
	if !ok {
		return nil, fmt.Errorf("file %s: unknown index %q", f.Filename, Redact(f.Index))
	}
	return c, nil
}

// Metadata returns f's core metadata from the index that listed it.
func (m *Multi) Metadata(ctx context.Context, f File) (*metadata.Metadata, error) {
	c, err := m.client(f)
	if err != nil {
		return nil, err
	}
	return c.Metadata(ctx, f)
}

// Fetch downloads f from the index that listed it.
func (m *Multi) Fetch(ctx context.Context, f File) (string, error) {
	c, err := m.client(f)
	if err != nil {
		return "", err
	}
	return c.Fetch(ctx, f)
}
