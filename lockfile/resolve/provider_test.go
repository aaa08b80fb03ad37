package resolve

import (
	"context"
	"fmt"
	"sync"

	"github.com/hfpack/hfpack/python/pep440"
	"github.com/hfpack/hfpack/python/pep508"
)

// memIndex is an in-memory Provider: project name -> versions.
type memIndex map[string][]memVersion

// memVersion is one version of a project in a memIndex.
type memVersion struct {
	version        string
	requires       []string
	requiresPython string // metadata Requires-Python
	indexPython    string // the index's data-requires-python
	extras         []string
	exclusion      Exclusion
	reason         string
}

func v(version string, requires ...string) memVersion {
	return memVersion{version: version, requires: requires}
}

func (m memVersion) python(spec string) memVersion       { m.requiresPython = spec; return m }
func (m memVersion) indexPython_(spec string) memVersion { m.indexPython = spec; return m }
func (m memVersion) provides(extras ...string) memVersion {
	m.extras = extras
	return m
}
func (m memVersion) excluded(e Exclusion, reason string) memVersion {
	m.exclusion, m.reason = e, reason
	return m
}

// memProvider serves a memIndex and counts calls.
type memProvider struct {
	index memIndex
	mu    sync.Mutex
	calls map[string]int
	fail  map[string]error
}

func newProvider(index memIndex) *memProvider {
	return &memProvider{index: index, calls: map[string]int{}, fail: map[string]error{}}
}

func (p *memProvider) Versions(ctx context.Context, name string) ([]Candidate, error) {
	p.mu.Lock()
	p.calls["versions "+name]++
	err := p.fail[name]
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	vs, ok := p.index[name]
	if !ok {
		return nil, fmt.Errorf("GET /simple/%s/: 404: %w", name, ErrNotFound)
	}
	var out []Candidate
	for _, mv := range vs {
		c := Candidate{
			Version:        pep440.MustParseVersion(mv.version),
			Artifact:       name + "-" + mv.version + ".whl",
			Exclusion:      mv.exclusion,
			Reason:         mv.reason,
			RequiresPython: pep440.MustParseSpecifierSet(mv.indexPython),
		}
		out = append(out, c)
	}
	return out, nil
}

func (p *memProvider) Dependencies(ctx context.Context, name string, c Candidate) (Dependencies, error) {
	p.mu.Lock()
	p.calls["deps "+name+" "+c.Version.String()]++
	p.mu.Unlock()
	for _, mv := range p.index[name] {
		if !pep440.MustParseVersion(mv.version).Equal(c.Version) {
			continue
		}
		if mv.exclusion != Installable && mv.exclusion != Yanked { // a yanked release has a file to read
			return Dependencies{}, fmt.Errorf("metadata of excluded %s %s requested", name, c.Version)
		}
		d := Dependencies{RequiresPython: pep440.MustParseSpecifierSet(mv.requiresPython), Extras: mv.extras}
		for _, r := range mv.requires {
			d.Requires = append(d.Requires, pep508.MustParseRequirement(r))
		}
		return d, nil
	}
	return Dependencies{}, fmt.Errorf("%s %s: no such version", name, c.Version)
}
