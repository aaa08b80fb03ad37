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
		if old, ok := t.Get(d); ok {
			// Namespace packages: NVIDIA's CUDA wheels all ship the same
			// empty nvidia/__init__.py. Identical bytes install once, as
			// pip and uv leave them; different bytes are still refused.
			eq, err := sameFile(old, in.out[d])
			if err != nil {
				return nil, fmt.Errorf("%s: comparing with /%s already in the image: %w", in.out[d].origin, d, err)
			}
			if eq {
				same[d] = true
				continue
			}
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
		// A member's digest is RECORD's word, not a fact: the entry
		// carries the archive's CRC-32 check instead (see source.open).
		e := tree.Entry{Path: d, Type: tree.File, Mode: p.Mode, Size: p.Size, Open: p.open}
		if p.src != nil {
			e.Deflated = p.src.deflated()
		} else {
			e.SHA256 = p.SHA256
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
// the same mode and the same bytes, compared byte for byte (RECORD digests
// are not checked, so they cannot vouch for equality).
func sameFile(old tree.Entry, p *planned) (bool, error) {
	if old.Type != tree.File || old.Size != p.Size || old.Mode != p.Mode || old.Open == nil {
		return false, nil
	}
	a, err := old.Open()
	if err != nil {
		return false, err
	}
	defer a.Close()
	b, err := p.open()
	if err != nil {
		return false, err
	}
	defer b.Close()
	return equalReaders(a, b)
}

// equalReaders reports whether a and b yield the same bytes.
func equalReaders(a, b io.Reader) (bool, error) {
	ba, bb := make([]byte, 32<<10), make([]byte, 32<<10)
	for {
		na, errA := io.ReadFull(a, ba)
		if errA != nil && errA != io.EOF && errA != io.ErrUnexpectedEOF {
			return false, errA
		}
		nb, errB := io.ReadFull(b, bb)
		if errB != nil && errB != io.EOF && errB != io.ErrUnexpectedEOF {
			return false, errB
		}
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		if errA != nil { // both ended at the same byte
			return true, nil
		}
	}
}
