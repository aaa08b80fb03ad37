package wheelinstall

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// route returns where member name goes and whether it is a .data script.
// Like pip, any top-level directory ending in ".data" is a data directory.
func (in *installer) route(name string) (dest string, script bool, err error) {
	top, rest, _ := strings.Cut(name, "/")
	if !strings.HasSuffix(top, ".data") {
		return path.Join(in.libDir, name), false, nil
	}
	key, sub, ok := strings.Cut(rest, "/")
	if !ok {
		return "", false, fmt.Errorf("member %q: %w: .data contents must be named <scheme key>/<path>", name, ErrInvalidWheel)
	}
	switch key {
	case "purelib":
		return path.Join(in.s.Purelib, sub), false, nil
	case "platlib":
		return path.Join(in.s.Platlib, sub), false, nil
	case "scripts":
		return path.Join(in.s.Scripts, sub), true, nil
	case "data":
		return path.Join(in.s.Data, sub), false, nil
	case "headers":
		return path.Join(in.s.Include, in.name, sub), false, nil
	}
	return "", false, fmt.Errorf("member %q: %w: unknown .data scheme key %q (want data, headers, platlib, purelib or scripts)", name, ErrInvalidWheel, key)
}

// isWrapper reports whether a .data script is a setuptools-made wrapper of an
// entry point (EP, EP.exe, EP-script.py, EP.pya), which pip skips because it
// generates its own.
func (in *installer) isWrapper(dest string) bool {
	base := path.Base(dest)
	l := strings.ToLower(base)
	for _, suf := range []string{".exe", "-script.py", ".pya"} {
		if strings.HasSuffix(l, suf) {
			base = base[:len(base)-len(suf)]
			break
		}
	}
	for _, ep := range in.eps {
		if ep.name == base {
			return true
		}
	}
	return false
}

func (in *installer) add(p *planned) error {
	if in.out == nil {
		in.out = map[string]*planned{}
	}
	if old, dup := in.out[p.Path]; dup {
		return fmt.Errorf("%w: %s and %s both install %s", ErrInvalidWheel, old.origin, p.origin, p.Path)
	}
	in.out[p.Path] = p
	return nil
}

// routeMembers plans every regular member of the wheel.
func (in *installer) routeMembers() error {
	for _, zf := range in.members {
		switch zf.Name {
		case in.distInfo + "/RECORD", in.distInfo + "/INSTALLER":
			continue // regenerated
		}
		dest, script, err := in.route(zf.Name)
		if err != nil {
			return err
		}
		if script && in.isWrapper(dest) {
			continue
		}
		p, err := in.plan(zf, dest, script)
		if err != nil {
			return err
		}
		if err := in.add(p); err != nil {
			return err
		}
	}
	return nil
}

func (in *installer) plan(zf *zip.File, dest string, script bool) (*planned, error) {
	off, err := zf.DataOffset()
	if err != nil {
		return nil, fmt.Errorf("member %q: %w: %v", zf.Name, ErrInvalidWheel, err)
	}
	rec, listed := in.records[zf.Name]
	if !listed {
		in.unrecorded = append(in.unrecorded, zf.Name)
	}
	src := &source{wheel: in.wheel, shared: in.shared, name: in.o.filename, member: zf.Name, offset: off, csize: int64(zf.CompressedSize64), method: zf.Method, size: int64(zf.UncompressedSize64), msize: int64(zf.UncompressedSize64), crc: zf.CRC32}
	mode := fs.FileMode(0o644)
	if script || isExecutable(zf) {
		mode = 0o755
	}
	// As pip and uv do, a RECORD row is taken as it is: published wheels
	// (torch among them) carry rows their files do not match, and the
	// wheel's sha256 in the lock already vouches for every byte. The
	// digest goes into the installed RECORD; only files without one, or
	// rewritten here, are hashed.
	var sum [32]byte
	if rec.sha256 != nil && !script {
		copy(sum[:], rec.sha256)
	} else if sum, err = in.hashMember(zf, src, script); err != nil {
		return nil, err
	}
	return &planned{
		File:   File{Path: dest, Mode: mode, Size: src.size, SHA256: hex.EncodeToString(sum[:])},
		origin: fmt.Sprintf("member %q", zf.Name),
		src:    src,
	}, nil
}

// hashMember reads a member now and returns the sha256 of the bytes it
// installs; a script starting with "#!python" gets the image's interpreter
// instead of its first line, and src's output size changes with it.
func (in *installer) hashMember(zf *zip.File, src *source, script bool) ([32]byte, error) {
	var sum [32]byte
	zr, err := zf.Open()
	if err != nil {
		return sum, fmt.Errorf("member %q: %w: %v", zf.Name, ErrInvalidWheel, err)
	}
	defer zr.Close()
	// archive/zip skips the check of a recorded CRC-32 of 0; source.open
	// does not, so neither does this.
	crc := crc32.NewIEEE()
	br := bufio.NewReader(io.TeeReader(zr, crc))
	h := sha256.New()
	if head, _ := br.Peek(8); script && bytes.HasPrefix(head, []byte("#!python")) {
		src.shebang = []byte("#!" + in.s.Interpreter + "\n")
		h.Write(src.shebang)
		first, err := copyLine(io.Discard, br)
		if err != nil {
			return sum, fmt.Errorf("member %q: %w: %v", zf.Name, ErrInvalidWheel, err)
		}
		src.size = src.size - first + int64(len(src.shebang))
	}
	if _, err := io.Copy(h, br); err != nil {
		return sum, fmt.Errorf("member %q: %w: %w", zf.Name, ErrInvalidWheel, err)
	}
	if got := crc.Sum32(); got != zf.CRC32 {
		return sum, fmt.Errorf("member %q: %w: %w: the archive records CRC-32 %08x, the contents have %08x", zf.Name, ErrInvalidWheel, zip.ErrChecksum, zf.CRC32, got)
	}
	h.Sum(sum[:0])
	return sum, nil
}

// copyLine copies r's first line, "\n" included, to w and returns its length.
// A last line without "\n" is not an error.
func copyLine(w io.Writer, r *bufio.Reader) (int64, error) {
	var n int64
	for {
		line, err := r.ReadSlice('\n')
		w.Write(line)
		n += int64(len(line))
		switch err {
		case bufio.ErrBufferFull:
			continue
		case nil, io.EOF:
			return n, nil
		}
		return n, err
	}
}

// wrapper is the text pip (distlib's ScriptMaker) writes for an entry point.
func wrapper(interpreter string, ep entryPoint) []byte {
	importName, _, _ := strings.Cut(ep.attr, ".")
	return fmt.Appendf(nil, `#!%s
# -*- coding: utf-8 -*-
import re
import sys
from %s import %s
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\.pyw|\.exe)?$', '', sys.argv[0])
    sys.exit(%s())
`, interpreter, ep.module, importName, ep.attr)
}

func generated(p string, mode fs.FileMode, b []byte, origin string) *planned {
	sum := sha256.Sum256(b)
	return &planned{
		File:   File{Path: p, Mode: mode, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])},
		origin: origin,
		data:   b,
	}
}

// addScripts plans the console_scripts and gui_scripts wrappers.
func (in *installer) addScripts() error {
	for _, ep := range in.scripts {
		p := generated(path.Join(in.s.Scripts, ep.name), 0o755, wrapper(in.s.Interpreter, ep), "entry point "+ep.name)
		if err := in.add(p); err != nil {
			return err
		}
	}
	return nil
}

// addDistInfo plans INSTALLER, REQUESTED when asked for and the regenerated
// RECORD.
func (in *installer) addDistInfo() error {
	dir := path.Join(in.libDir, in.distInfo)
	if err := in.add(generated(path.Join(dir, "INSTALLER"), 0o644, []byte(in.o.installer+"\n"), "INSTALLER")); err != nil {
		return err
	}
	if in.o.requested {
		if err := in.add(generated(path.Join(dir, "REQUESTED"), 0o644, []byte{}, "REQUESTED")); err != nil {
			return err
		}
	}
	recPath := path.Join(dir, "RECORD")
	rows := make([][3]string, 0, len(in.out)+1)
	rows = append(rows, [3]string{relPath(in.libDir, recPath), "", ""})
	for _, p := range in.out {
		sum, _ := hex.DecodeString(p.SHA256)
		rows = append(rows, [3]string{relPath(in.libDir, p.Path), "sha256=" + base64.RawURLEncoding.EncodeToString(sum), fmt.Sprint(p.Size)})
	}
	slices.SortFunc(rows, func(a, b [3]string) int { return strings.Compare(a[0], b[0]) })
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(csvRow(r[:]...))
	}
	return in.add(generated(recPath, 0o644, []byte(b.String()), "RECORD"))
}

// csvRow formats one RECORD line as Python's csv module does (minimal
// quoting), ending in "\n".
func csvRow(fields ...string) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		if strings.ContainsAny(f, ",\"\r\n") {
			f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		}
		b.WriteString(f)
	}
	b.WriteByte('\n')
	return b.String()
}
