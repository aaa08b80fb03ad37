package tree

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Type is the kind of a tree entry.
type Type uint8

// The entry types a layer may carry. Hard links, devices and FIFOs are never
// produced by hfpack.
const (
	Dir Type = iota + 1
	File
	Symlink
)

func (t Type) String() string {
	switch t {
	case Dir:
		return "dir"
	case File:
		return "file"
	case Symlink:
		return "symlink"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Opener returns a fresh reader of a file's contents each time it is called.
type Opener func() (io.ReadCloser, error)

// Entry is one object of the tree.
type Entry struct {
	// Path is slash-separated and relative to the layer root: "opt/hfpack/model".
	Path string
	Type Type
	// Mode holds the permission bits only (0o755, 0o644, ...).
	Mode fs.FileMode
	// Size is the content length of a File.
	Size int64
	// Linkname is the target of a Symlink.
	Linkname string
	// Open reads the contents of a File.
	Open Opener
	// SHA256 is the hex digest of a File's contents when the producer knows it
	// (a model file hashed for the lock, a file it generated); empty otherwise.
	// A consumer may check what it reads against it (the layer writer does
	// when it inflates a Deflated stream).
	SHA256 string
	// Deflated, when not nil, holds a File's contents already compressed:
	// a wheel member stored with DEFLATE. A gzip layer carries those bytes
	// as they are instead of compressing the contents again.
	Deflated *Deflated
}

// Deflated is a File's contents as a raw DEFLATE stream (RFC 1951), the
// method 8 data of a zip member. The stream must inflate to exactly the
// Size bytes Open yields, with CRC-32 CRC32 and, when that is set, digest
// SHA256; a consumer that reads Deflated instead of Open inflates it and
// checks that itself.
type Deflated struct {
	// Open reads the stream: Size bytes, which may run on past its end.
	Open Opener
	// Size is the stream's length in bytes.
	Size int64
	// CRC32 is the IEEE CRC-32 of the contents, as the zip archive records
	// it (and as a gzip member carries it).
	CRC32 uint32
}

// ErrInvalidPath reports a path that is absolute, escapes the root or is not clean.
var ErrInvalidPath = errors.New("invalid path")

// ErrConflict reports two different entries for the same path.
var ErrConflict = errors.New("conflicting entries")

// Tree is a set of entries keyed by path. The zero value is not usable; call New.
// A Tree is not safe for concurrent mutation.
type Tree struct {
	entries map[string]Entry
	parents map[string]bool // every directory some entry lives under
}

// New returns an empty tree.
func New() *Tree { return &Tree{entries: map[string]Entry{}, parents: map[string]bool{}} }

// CleanPath validates p as a relative, slash-separated path inside the root and
// returns it cleaned of leading "./" and trailing "/". Absolute paths, ".."
// elements, empty paths and NUL bytes are errors.
func CleanPath(p string) (string, error) {
	q := strings.TrimPrefix(p, "./")
	q = strings.TrimSuffix(q, "/")
	if q == "" || q == "." || strings.HasPrefix(q, "/") || strings.ContainsRune(q, 0) || strings.Contains(q, "\\") {
		return "", fmt.Errorf("%w %q", ErrInvalidPath, p)
	}
	for _, el := range strings.Split(q, "/") {
		if el == "" || el == "." || el == ".." {
			return "", fmt.Errorf("%w %q", ErrInvalidPath, p)
		}
	}
	return q, nil
}

// AddDir adds a directory with the given permission bits.
func (t *Tree) AddDir(p string, mode fs.FileMode) error {
	return t.add(Entry{Path: p, Type: Dir, Mode: mode.Perm()})
}

// AddFile adds a regular file whose contents open reads; size must be exact.
func (t *Tree) AddFile(p string, mode fs.FileMode, size int64, open Opener) error {
	if open == nil {
		return fmt.Errorf("adding %q: nil opener", p)
	}
	if size < 0 {
		return fmt.Errorf("adding %q: negative size %d", p, size)
	}
	return t.add(Entry{Path: p, Type: File, Mode: mode.Perm(), Size: size, Open: open})
}

// AddBytes adds a regular file with in-memory contents. It is meant for small
// generated files (RECORD, scripts, configuration).
func (t *Tree) AddBytes(p string, mode fs.FileMode, b []byte) error {
	b = bytes.Clone(b)
	return t.AddFile(p, mode, int64(len(b)), func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	})
}

// AddSymlink adds a symbolic link to target. Absolute targets are kept as
// they are (they resolve inside the image); relative targets must stay inside
// the root.
func (t *Tree) AddSymlink(p, target string) error {
	if target == "" {
		return fmt.Errorf("adding symlink %q: empty target", p)
	}
	if !path.IsAbs(target) {
		cp, err := CleanPath(p)
		if err != nil {
			return err
		}
		resolved := path.Join(path.Dir(cp), target)
		if resolved == ".." || strings.HasPrefix(resolved, "../") {
			return fmt.Errorf("adding symlink %q -> %q: %w: target escapes the root", p, target, ErrInvalidPath)
		}
	}
	return t.add(Entry{Path: p, Type: Symlink, Mode: 0o777, Linkname: target})
}

// Add adds a fully formed entry.
func (t *Tree) Add(e Entry) error { return t.add(e) }

func (t *Tree) add(e Entry) error {
	p, err := CleanPath(e.Path)
	if err != nil {
		return err
	}
	e.Path = p
	if old, ok := t.entries[p]; ok {
		if old.Type == Dir && e.Type == Dir {
			// Repeated directories merge; the later mode wins.
			t.entries[p] = e
			return nil
		}
		return fmt.Errorf("adding %s %q: %w: already a %s", e.Type, p, ErrConflict, old.Type)
	}
	if e.Type != Dir && t.parents[p] {
		return fmt.Errorf("adding %s %q: %w: already a directory with contents", e.Type, p, ErrConflict)
	}
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if old, ok := t.entries[dir]; ok && old.Type != Dir {
			return fmt.Errorf("adding %q: %w: parent %q is a %s", p, ErrConflict, dir, old.Type)
		}
	}
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		t.parents[dir] = true
	}
	t.entries[p] = e
	return nil
}

// Get returns the entry at p.
func (t *Tree) Get(p string) (Entry, bool) {
	cp, err := CleanPath(p)
	if err != nil {
		return Entry{}, false
	}
	e, ok := t.entries[cp]
	return e, ok
}

// Len returns the number of explicit entries.
func (t *Tree) Len() int { return len(t.entries) }

// Merge adds every entry of o to t.
func (t *Tree) Merge(o *Tree) error {
	for _, e := range o.Entries() {
		if err := t.add(e); err != nil {
			return err
		}
	}
	return nil
}

// Entries returns every entry sorted by path, with each missing parent
// directory supplied (mode 0o755) so that a directory always precedes its
// contents.
func (t *Tree) Entries() []Entry {
	all := make(map[string]Entry, len(t.entries))
	for p, e := range t.entries {
		all[p] = e
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			if _, ok := all[dir]; ok {
				continue
			}
			if explicit, ok := t.entries[dir]; ok {
				all[dir] = explicit
				continue
			}
			all[dir] = Entry{Path: dir, Type: Dir, Mode: 0o755}
		}
	}
	out := make([]Entry, 0, len(all))
	for _, e := range all {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Size returns the sum of the sizes of all files.
func (t *Tree) Size() int64 {
	var n int64
	for _, e := range t.entries {
		n += e.Size
	}
	return n
}
