package lockfile

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/hfpack/hfpack/lockfile/index"
	"github.com/hfpack/hfpack/lockfile/resolve"
	"github.com/hfpack/hfpack/python/pep440"
	"github.com/hfpack/hfpack/python/tags"
)

// Provider adapts an index.Source to resolve.Provider for one target: it
// groups each project's files by version and picks, per version, the wheel
// the target image would install. Candidate.Artifact is an index.File.
type Provider struct {
	src       index.Source
	supported *tags.Supported
	python    pep440.Version
	prefer    map[string]string // project -> wheel filename to keep when still listed
	onFetch   func(name string)
}

var _ resolve.Provider = (*Provider)(nil)

// NewProvider returns a Provider choosing wheels from src for target.
// preferWheels maps project names to the wheel filename an earlier lock
// chose; that wheel is kept while it is listed and still fits.
func NewProvider(src index.Source, target tags.Target, preferWheels map[string]string) (*Provider, error) {
	sup, err := target.Supported()
	if err != nil {
		return nil, err
	}
	py, err := pep440.ParseVersion(fullPython(target.Python))
	if err != nil {
		return nil, fmt.Errorf("target python %q: %w", target.Python, err)
	}
	return &Provider{src: src, supported: sup, python: py, prefer: preferWheels}, nil
}

// Versions lists every version of the project name with the file to
// install, or why none can be.
func (p *Provider) Versions(ctx context.Context, name string) ([]resolve.Candidate, error) {
	proj, err := p.src.Project(ctx, name)
	if errors.Is(err, index.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", resolve.ErrNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	if p.onFetch != nil {
		p.onFetch(name)
	}
	type group struct {
		version pep440.Version
		wheels  []index.File
		parsed  []tags.Wheel
		sdists  []index.File
	}
	var groups []*group
	find := func(v pep440.Version) *group {
		for _, g := range groups {
			if g.version.Equal(v) {
				return g
			}
		}
		g := &group{version: v}
		groups = append(groups, g)
		return g
	}
	for _, f := range proj.Files {
		if f.IsWheel() {
			w, err := tags.ParseWheel(f.Filename)
			if err != nil || w.Name != index.Normalize(name) {
				continue // not this project's wheel, or not a wheel name at all
			}
			g := find(w.Version)
			g.wheels, g.parsed = append(g.wheels, f), append(g.parsed, w)
			continue
		}
		if v, ok := sdistVersion(name, f.Filename); ok {
			g := find(v)
			g.sdists = append(g.sdists, f)
		}
	}
	out := make([]resolve.Candidate, 0, len(groups))
	for _, g := range groups {
		out = append(out, p.candidate(name, g.version, g.wheels, g.parsed, g.sdists))
	}
	return out, nil
}

// candidate chooses the wheel of one version.
func (p *Provider) candidate(name string, v pep440.Version, files []index.File, parsed []tags.Wheel, sdists []index.File) resolve.Candidate {
	c := resolve.Candidate{Version: v}
	if len(files) == 0 {
		c.Exclusion = resolve.SdistOnly
		c.Reason = fmt.Sprintf("only a source distribution (%s) is published; hfpack installs wheels only", sdists[0].Filename)
		return c
	}
	var fit []int
	var why []string
	for i, w := range parsed {
		if p.supported.Compatible(w) {
			fit = append(fit, i)
		} else if r := p.supported.Why(w); r != "" && !slices.Contains(why, r) {
			why = append(why, r)
		}
	}
	if len(fit) == 0 {
		c.Exclusion = resolve.NoCompatibleWheel
		c.Reason = strings.Join(why, "; ")
		return c
	}
	var live []int
	for _, i := range fit {
		if !files[i].Yanked {
			live = append(live, i)
		}
	}
	yanked := len(live) == 0
	if yanked {
		// Still choose the file: an exact pin may select a yanked
		// release (PEP 592); the resolver decides.
		live = fit
	}
	// Prefer wheels whose requires-python admits the target; when none
	// does, report the best one's so the resolver can explain.
	usable := slices.DeleteFunc(slices.Clone(live), func(i int) bool { return !p.pythonOK(files[i]) })
	if len(usable) == 0 {
		usable = live
	}
	best := usable[0]
	if keep, ok := p.prefer[index.Normalize(name)]; ok {
		if i := slices.IndexFunc(usable, func(i int) bool { return files[i].Filename == keep }); i >= 0 {
			return p.finishYanked(c, files[usable[i]], yanked)
		}
	}
	ws := make([]tags.Wheel, len(usable))
	for j, i := range usable {
		ws[j] = parsed[i]
	}
	if b := p.supported.Best(ws); b >= 0 {
		best = usable[b]
	}
	return p.finishYanked(c, files[best], yanked)
}

// finishYanked is finish, marking a candidate whose every fitting file is
// yanked.
func (p *Provider) finishYanked(c resolve.Candidate, f index.File, yanked bool) resolve.Candidate {
	c = p.finish(c, f)
	if yanked && c.Exclusion == resolve.Installable {
		c.Exclusion, c.Reason = resolve.Yanked, f.YankedReason
	}
	return c
}

func (p *Provider) finish(c resolve.Candidate, f index.File) resolve.Candidate {
	c.Artifact = f
	if f.RequiresPython != "" {
		rp, err := pep440.ParseSpecifierSet(f.RequiresPython)
		if err != nil {
			c.Exclusion = resolve.Unavailable
			c.Reason = fmt.Sprintf("%s: unreadable requires-python %q on the index", f.Filename, f.RequiresPython)
			return c
		}
		c.RequiresPython = rp
	}
	return c
}

func (p *Provider) pythonOK(f index.File) bool {
	if f.RequiresPython == "" {
		return true
	}
	rp, err := pep440.ParseSpecifierSet(f.RequiresPython)
	return err == nil && rp.Match(p.python)
}

// Dependencies reads the chosen wheel's core metadata.
func (p *Provider) Dependencies(ctx context.Context, name string, c resolve.Candidate) (resolve.Dependencies, error) {
	f, ok := c.Artifact.(index.File)
	if !ok {
		return resolve.Dependencies{}, fmt.Errorf("%s %s: no wheel chosen", name, c.Version)
	}
	md, err := p.src.Metadata(ctx, f)
	if err != nil {
		return resolve.Dependencies{}, err
	}
	d, err := resolve.ParseDependencies(md.RequiresDist, md.RequiresPython, md.ProvidesExtra)
	if err != nil {
		return resolve.Dependencies{}, fmt.Errorf("metadata of %s: %w", f.Filename, err)
	}
	return d, nil
}

// sdistExts are the source distribution suffixes an index may list.
var sdistExts = []string{".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar"}

// sdistVersion parses "{name}-{version}.tar.gz" for project name.
func sdistVersion(name, filename string) (pep440.Version, bool) {
	base := path.Base(filename)
	for _, ext := range sdistExts {
		if len(base) < len(ext) || !strings.EqualFold(base[len(base)-len(ext):], ext) {
			continue
		}
		stem := base[:len(base)-len(ext)]
		i := strings.LastIndexByte(stem, '-')
		if i <= 0 || index.Normalize(stem[:i]) != index.Normalize(name) {
			return pep440.Version{}, false
		}
		v, err := pep440.ParseVersion(stem[i+1:])
		return v, err == nil
	}
	return pep440.Version{}, false
}
