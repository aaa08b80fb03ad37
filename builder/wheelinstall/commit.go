package wheelinstall

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/hfpack/hfpack/builder/tree"
)

// commit adds the planned files to t, all or nothing.
func (in *installer) commit(t *tree.Tree) (*Result, error) {
	dests := make([]string, 0, len(in.out))
	for p := range in.out {
		dests = append(dests, p)
	}
	slices.Sort(dests)
	same := map[string]bool{}
	for _, d := range dests {
		if old, ok := t.Get(d); ok && sameFile(old, in.out[d]) {
			// Namespace packages: NVIDIA's CUDA wheels all ship the same
			// empty nvidia/__init__.py. Identical bytes install once, as
			// pip and uv leave them; different bytes are still refused.
			same[d] = true
			continue
		}
		if old, ok := t.Get(d); ok {
			return nil, fmt.Errorf("%s: %w: /%s is already a %s in the image, installed by %s; a wheel never replaces another's files", in.out[d].origin, tree.ErrConflict, d, old.Type, ownerOf(t, d))
		}
		for dir := path.Dir(d); dir != "."; dir = path.Dir(dir) {
			if _, ok := in.out[dir]; ok {
				return nil, fmt.Errorf("%s: %w: %s is also installed as a file", in.out[d].origin, tree.ErrConflict, dir)
			}
			if old, ok := t.Get(dir); ok && old.Type != tree.Dir {
				return nil, fmt.Errorf("%s: %w: parent %s is a %s in the tree", in.out[d].origin, tree.ErrConflict, dir, old.Type)
			}
		}
	}
	res := &Result{Name: in.name, Version: in.version, DistInfo: path.Join(in.libDir, in.distInfo), Unrecorded: in.unrecorded}
	for _, d := range dests {
		p := in.out[d]
		if same[d] {
			res.Files = append(res.Files, p.File)
			continue
		}
		e := tree.Entry{Path: d, Type: tree.File, Mode: p.Mode, Size: p.Size, SHA256: p.SHA256}
		if p.src != nil {
			e.Open = p.src.open
			e.Deflated = p.src.deflated()
		} else {
			data := p.data
			e.Open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		}
		if err := t.Add(e); err != nil {
			return nil, fmt.Errorf("%s: %w", p.origin, err)
		}
		res.Files = append(res.Files, p.File)
	}
	for _, ep := range in.scripts {
		res.Scripts = append(res.Scripts, Script{Name: ep.name, Path: path.Join(in.s.Scripts, ep.name), Module: ep.module, Attr: ep.attr, GUI: ep.gui})
	}
	return res, nil
}

// ownerOf names the distribution whose RECORD in t lists the layer path p,
// or says that none does.
func ownerOf(t *tree.Tree, p string) string {
	for _, e := range t.Entries() {
		if e.Type != tree.File || path.Base(e.Path) != "RECORD" || !strings.HasSuffix(path.Dir(e.Path), ".dist-info") {
			continue
		}
		rc, err := e.Open()
		if err != nil {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxMetadata))
		rc.Close()
		if err != nil {
			continue
		}
		rows, err := parseRECORD(string(b))
		if err != nil {
			continue
		}
		lib := path.Dir(path.Dir(e.Path))
		for row := range rows {
			if path.Join(lib, row) == p {
				return "the wheel of " + strings.TrimSuffix(path.Base(path.Dir(e.Path)), ".dist-info")
			}
		}
	}
	return "a file that is not a wheel's"
}

// sameFile reports whether the tree already holds exactly the planned file:
// same bytes (by the sha256 both wheels' RECORDs give) and mode.
func sameFile(old tree.Entry, p *planned) bool {
	return old.Type == tree.File && old.SHA256 != "" && old.SHA256 == p.SHA256 && old.Size == p.Size && old.Mode == p.Mode
}
