package wheelinstall

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/internal/inflate"
)

// Unix file types in the high 16 bits of a zip member's external attributes.
const (
	sIFMT  = 0o170000
	sIFREG = 0o100000
	sIFDIR = 0o040000
	sIFLNK = 0o120000
)

// checkName reports why a member name is unsafe or not canonical, or "".
func checkName(name string) string {
	n := strings.TrimSuffix(name, "/")
	switch {
	case n == "":
		return "empty name"
	case !utf8.ValidString(name):
		return "name is not UTF-8"
	case strings.HasPrefix(n, "/"):
		return "absolute path"
	case strings.ContainsRune(n, 0):
		return "NUL byte in name"
	case strings.Contains(n, "\\"):
		return "backslash in name"
	}
	for _, el := range strings.Split(n, "/") {
		switch el {
		case "..":
			return `".." element`
		case "", ".":
			return "empty or \".\" element"
		}
	}
	return ""
}

// unixType returns the Unix file type bits of a member, 0 when none are set.
func unixType(zf *zip.File) uint32 { return (zf.ExternalAttrs >> 16) & sIFMT }

// isExecutable follows pip: a regular file with any x bit in its Unix mode.
func isExecutable(zf *zip.File) bool {
	mode := zf.ExternalAttrs >> 16
	return mode&sIFMT == sIFREG && mode&0o111 != 0
}

// checkMember reports why a member cannot be installed, or "".
func checkMember(zf *zip.File) string {
	if why := checkName(zf.Name); why != "" {
		return why
	}
	dir := strings.HasSuffix(zf.Name, "/")
	switch t := unixType(zf); {
	case t == sIFLNK:
		return "symbolic link"
	case dir && t != 0 && t != sIFDIR, !dir && t != 0 && t != sIFREG:
		return fmt.Sprintf("Unix file type %#o is not a regular file", t)
	}
	if dir {
		return ""
	}
	if zf.Flags&0x1 != 0 {
		return "encrypted member"
	}
	if zf.Method != zip.Store && zf.Method != zip.Deflate {
		return fmt.Sprintf("compression method %d (wheels use stored or deflate)", zf.Method)
	}
	if zf.UncompressedSize64 > 1<<62 || zf.CompressedSize64 > 1<<62 {
		return "impossible size"
	}
	return ""
}

// source is everything needed to read one installed file back from the wheel
// without parsing its central directory again.
type source struct {
	wheel  string // absolute path of the .whl file
	name   string // the wheel's file name, for errors
	member string // member name, for errors
	offset int64  // start of the member's compressed data
	csize  int64
	method uint16
	// shebang, when non-nil, replaces the member's first line.
	shebang []byte
	size    int64  // bytes Open yields
	msize   int64  // the member's length, as the archive records it
	crc     uint32 // CRC-32 of the member's bytes, as the archive records it
	// shared is the wheel file Install verified, when kept open for
	// the members (WithFiles).
	shared *os.File
}

// open returns the file's contents, checked as unzip checks them: the
// member must yield exactly its recorded length with its recorded CRC-32,
// or the read that would complete size bytes returns no bytes and an error.
func (s *source) open() (io.ReadCloser, error) {
	raw, err := s.section()
	if err != nil {
		return nil, err
	}
	rc := &checkedReader{src: s, raw: raw, crc: crc32.NewIEEE()}
	var member io.Reader = raw
	if s.method == zip.Deflate {
		rc.fl = inflate.Reader(raw)
		member = rc.fl
	}
	rc.member = io.TeeReader(member, rc)
	rc.r = rc.member
	if s.shebang != nil {
		rc.r = io.MultiReader(bytes.NewReader(s.shebang), &afterFirstLine{r: bufio.NewReader(rc.member)})
	}
	return rc, nil
}

// section returns the member's stored bytes, from the wheel file Install
// verified, kept open (WithFiles), or from the wheel opened anew; closing
// it closes only a file opened anew.
func (s *source) section() (sectionReadCloser, error) {
	if s.shared != nil {
		// After Files.Close, reads fail with os.ErrClosed.
		return sectionReadCloser{io.NewSectionReader(s.shared, s.offset, s.csize), nopCloser{}}, nil
	}
	f, err := os.Open(s.wheel)
	if err != nil {
		return sectionReadCloser{}, fmt.Errorf("wheel %s member %q: %w", s.name, s.member, err)
	}
	return sectionReadCloser{io.NewSectionReader(f, s.offset, s.csize), f}, nil
}

// deflated returns the member's DEFLATE stream as the layer writer may
// carry it, or nil when the installed bytes are not the member's inflated
// as they are (stored members, scripts whose first line is replaced).
func (s *source) deflated() *tree.Deflated {
	if s.method != zip.Deflate || s.shebang != nil {
		return nil
	}
	return &tree.Deflated{Size: s.csize, CRC32: s.crc, Open: func() (io.ReadCloser, error) {
		raw, err := s.section()
		if err != nil {
			return nil, err
		}
		return raw, nil
	}}
}

type sectionReadCloser struct {
	*io.SectionReader
	io.Closer
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// checkedReader yields exactly src.size bytes and checks the member they
// come from against its length and CRC-32.
type checkedReader struct {
	src    *source
	raw    sectionReadCloser
	fl     io.ReadCloser
	member io.Reader // the member's bytes, through crc
	r      io.Reader // what Read yields
	crc    hash.Hash32
	read   int64 // of the member, through crc
	n      int64 // yielded
	err    error // sticky: io.EOF after a checked read, or the failure
	once   sync.Once
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.n == c.src.size {
		return 0, c.finish()
	}
	if rem := c.src.size - c.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n == c.src.size {
		if ferr := c.finish(); ferr != io.EOF {
			// Withhold the last bytes so that no caller, io.CopyN included,
			// can take the contents as complete.
			return 0, ferr
		}
		return n, nil
	}
	switch {
	case err == io.EOF:
		c.err = fmt.Errorf("wheel %s member %q: %w after %d of %d bytes", c.src.name, c.src.member, io.ErrUnexpectedEOF, c.n, c.src.size)
		return n, c.err
	case err != nil:
		c.err = fmt.Errorf("wheel %s member %q: %w", c.src.name, c.src.member, err)
		return n, c.err
	}
	return n, nil
}

// Write takes the member's bytes as they are read, for the checks.
func (c *checkedReader) Write(p []byte) (int, error) {
	c.read += int64(len(p))
	return c.crc.Write(p)
}

// finish checks, once all the contents are read, that nothing is left of
// them or of the member (reading on skips a rewritten script's first line),
// and that the member's CRC-32 is the recorded one.
func (c *checkedReader) finish() error {
	c.err = io.EOF
	for _, r := range []io.Reader{c.r, c.member} {
		var one [1]byte
		switch n, err := io.ReadFull(r, one[:]); {
		case n > 0:
			c.err = fmt.Errorf("wheel %s member %q: %w: longer than its recorded size", c.src.name, c.src.member, zip.ErrFormat)
		case err != io.EOF:
			c.err = fmt.Errorf("wheel %s member %q: %w", c.src.name, c.src.member, err)
		}
		if c.err != io.EOF {
			return c.err
		}
	}
	if c.read != c.src.msize {
		c.err = fmt.Errorf("wheel %s member %q: %w: %d bytes, the archive records %d", c.src.name, c.src.member, zip.ErrFormat, c.read, c.src.msize)
	} else if got := c.crc.Sum32(); got != c.src.crc {
		c.err = fmt.Errorf("wheel %s member %q: %w: the archive records CRC-32 %08x, the contents have %08x",
			c.src.name, c.src.member, zip.ErrChecksum, c.src.crc, got)
	}
	return c.err
}

func (c *checkedReader) Close() error {
	var err error
	c.once.Do(func() {
		c.err = os.ErrClosed // the pooled inflater must not be read again
		if c.fl != nil {
			inflate.Release(c.fl)
		}
		err = c.raw.Close()
	})
	return err
}

// afterFirstLine reads r from just past its first "\n" (or nothing, when r
// has none).
type afterFirstLine struct {
	r       *bufio.Reader
	skipped bool
}

func (a *afterFirstLine) Read(p []byte) (int, error) {
	if !a.skipped {
		if _, err := copyLine(io.Discard, a.r); err != nil {
			return 0, err
		}
		a.skipped = true
	}
	return a.r.Read(p)
}
