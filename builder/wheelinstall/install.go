package wheelinstall

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/internal/fsio"
)

// Errors callers can test with errors.Is. Every error Install returns names
// the wheel; errors about a member also name the member.
var (
	// ErrDigestMismatch reports a wheel whose sha256 differs from the lock's.
	// (A member whose bytes are not the archive's fails with zip.ErrChecksum;
	// RECORD rows are not checked, as pip does not check them.)
	ErrDigestMismatch = errors.New("sha256 mismatch")
	// ErrUnsafeMember reports a member that could write outside its
	// directory or is not a regular file: a hostile wheel.
	ErrUnsafeMember = errors.New("unsafe wheel member")
	// ErrInvalidWheel reports a wheel that breaks the wheel specification.
	ErrInvalidWheel = errors.New("invalid wheel")
	// ErrUnsupported reports a wheel of a newer major Wheel-Version.
	ErrUnsupported = errors.New("unsupported wheel")
)

// maxMetadata caps the size of the .dist-info files Install reads into memory.
const maxMetadata = 64 << 20

// Install verifies the wheel at wheelPath against wantSHA256 (hex), then adds
// its files to t under the directories of s, as described in the package
// documentation. Nothing is added when Install fails; the error names the
// wheel and, for a bad member, the member. No .pyc is compiled.
func Install(t *tree.Tree, wheelPath, wantSHA256 string, s Scheme, opts ...Option) (*Result, error) {
	p, err := Prepare(wheelPath, wantSHA256, s, opts...)
	if err != nil {
		return nil, err
	}
	return p.Commit(t)
}

// Prepared is a wheel read, checked and laid out as Install does, not yet
// added to a tree. Preparing touches no tree, so several wheels may be
// prepared at once (on several cores) and committed one after another.
type Prepared struct {
	in *installer
}

// Prepare does all of Install's work but adding the files to a tree:
// it verifies the wheel against wantSHA256 and reads its metadata, and
// fails as Install would.
func Prepare(wheelPath, wantSHA256 string, s Scheme, opts ...Option) (*Prepared, error) {
	o := options{filename: filepath.Base(wheelPath), installer: "hfpack"}
	for _, opt := range opts {
		opt(&o)
	}
	in, err := prepare(wheelPath, wantSHA256, s, o)
	if err != nil {
		return nil, fmt.Errorf("installing wheel %s: %w", o.filename, err)
	}
	return &Prepared{in}, nil
}

// Commit adds the prepared wheel's files to t, all or nothing, and fails
// as Install would when they conflict with t's.
func (p *Prepared) Commit(t *tree.Tree) (*Result, error) {
	res, err := p.in.commit(t)
	if err != nil {
		return nil, fmt.Errorf("installing wheel %s: %w", p.in.o.filename, err)
	}
	return res, nil
}

func prepare(wheelPath, want string, s Scheme, o options) (*installer, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	if strings.ContainsAny(o.installer, "\r\n") {
		return nil, fmt.Errorf("installer name %q: want a single line", o.installer)
	}
	wheelPath, err := filepath.Abs(wheelPath)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(wheelPath)
	if err != nil {
		return nil, err
	}
	var shared *os.File
	if o.files != nil && o.files.keep(f) {
		shared = f
	} else {
		defer f.Close()
	}
	n, err := verifyFile(f, want, o.known)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(newWindowReader(f, n, 256<<10), n)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fmt.Errorf("%w: reading zip: %v", ErrInvalidWheel, err)
	}
	in := &installer{wheel: wheelPath, shared: shared, s: s, o: o, zr: zr}
	if err := in.run(); err != nil {
		return nil, err
	}
	return in, nil
}

// verifyFile hashes f and compares the digest with want; it returns f's
// size. A hash known recorded for f as opened is taken instead of reading
// f (see WithKnownHashes).
func verifyFile(f *os.File, want string, known KnownHashes) (int64, error) {
	want = strings.ToLower(strings.TrimPrefix(want, "sha256:"))
	if b, err := hex.DecodeString(want); err != nil || len(b) != sha256.Size {
		return 0, fmt.Errorf("lock sha256 %q: want 64 hex digits", want)
	}
	var src fsio.Source
	if known != nil {
		fi, err := f.Stat()
		if err != nil {
			return 0, err
		}
		src = fsio.Source{Path: f.Name(), FileID: fsio.IDOf(fi)}
		if sum, ok := known.KnownSHA256(src); ok && sum == want {
			return fi.Size(), nil
		}
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, fmt.Errorf("hashing: %w", err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != want {
		return 0, fmt.Errorf("%w: the lock wants sha256 %s, the file has %s (re-download it or re-lock)", ErrDigestMismatch, want, got)
	}
	if known != nil && n == src.Size {
		if err := known.RememberSHA256(src, got); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// planned is one file Install will add.
type planned struct {
	File
	origin string  // member name or "entry point NAME", for errors
	src    *source // nil for generated files
	data   []byte  // generated contents
}

// open reads the file's contents: a member's from the wheel, checked, or
// the generated bytes.
func (p *planned) open() (io.ReadCloser, error) {
	if p.src != nil {
		return p.src.open()
	}
	return io.NopCloser(bytes.NewReader(p.data)), nil
}

type installer struct {
	wheel  string
	shared *os.File // the wheel kept open (WithFiles), or nil
	s      Scheme
	o      options
	zr     *zip.Reader

	members    []*zip.File // regular files, archive order
	byName     map[string]*zip.File
	distInfo   string // "six-1.16.0.dist-info"
	name       string
	version    string
	libDir     string
	records    map[string]record
	unrecorded []string            // members RECORD does not list
	eps        []entryPoint        // as entry_points.txt lists them
	scripts    []entryPoint        // the wrappers to write
	out        map[string]*planned // by destination path
}

func (in *installer) run() error {
	steps := []func() error{in.scan, in.readDistInfo, in.routeMembers, in.addScripts, in.addDistInfo}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// scan checks every member name and type and finds the .dist-info directory.
func (in *installer) scan() error {
	in.byName = make(map[string]*zip.File, len(in.zr.File))
	infos := map[string]bool{}
	for _, zf := range in.zr.File {
		if why := checkMember(zf); why != "" {
			return fmt.Errorf("member %q: %w: %s", zf.Name, ErrUnsafeMember, why)
		}
		key := strings.TrimSuffix(zf.Name, "/")
		if _, dup := in.byName[key]; dup {
			return fmt.Errorf("member %q: %w: duplicate name", zf.Name, ErrUnsafeMember)
		}
		in.byName[key] = zf
		top, _, _ := strings.Cut(key, "/")
		if strings.HasSuffix(top, ".dist-info") {
			infos[top] = true
		}
		if !strings.HasSuffix(zf.Name, "/") {
			in.members = append(in.members, zf)
		}
	}
	switch len(infos) {
	case 0:
		return fmt.Errorf("%w: no .dist-info directory", ErrInvalidWheel)
	case 1:
		for d := range infos {
			in.distInfo = d
		}
		return nil
	}
	names := make([]string, 0, len(infos))
	for d := range infos {
		names = append(names, d)
	}
	slices.Sort(names)
	return fmt.Errorf("%w: several .dist-info directories: %s", ErrInvalidWheel, strings.Join(names, ", "))
}

func (in *installer) readMeta(name string, required bool) (string, error) {
	zf, ok := in.byName[in.distInfo+"/"+name]
	if !ok || strings.HasSuffix(zf.Name, "/") {
		if required {
			return "", fmt.Errorf("%w: no %s/%s", ErrInvalidWheel, in.distInfo, name)
		}
		return "", nil
	}
	if zf.UncompressedSize64 > maxMetadata {
		return "", fmt.Errorf("member %q: %w: larger than %d bytes", zf.Name, ErrInvalidWheel, maxMetadata)
	}
	rc, err := zf.Open()
	if err != nil {
		return "", fmt.Errorf("member %q: %w: %v", zf.Name, ErrInvalidWheel, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxMetadata))
	if err != nil {
		return "", fmt.Errorf("member %q: %w: %v", zf.Name, ErrInvalidWheel, err)
	}
	return string(b), nil
}

var projectNameRE = regexp.MustCompile(`(?i)^([a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)

// readDistInfo reads WHEEL, METADATA, RECORD and entry_points.txt.
func (in *installer) readDistInfo() error {
	text, err := in.readMeta("WHEEL", true)
	if err != nil {
		return err
	}
	wi, err := parseWHEEL(text)
	if err != nil {
		return err
	}
	in.libDir = in.s.Platlib
	if wi.rootIsPurelib {
		in.libDir = in.s.Purelib
	}
	if text, err = in.readMeta("METADATA", true); err != nil {
		return err
	}
	h := headers(text)
	in.name, in.version = h["name"], h["version"]
	if !projectNameRE.MatchString(in.name) || in.version == "" || strings.ContainsAny(in.version, "/\\\x00") {
		return fmt.Errorf("%w: METADATA Name %q, Version %q", ErrInvalidWheel, in.name, in.version)
	}
	cn := canonicalName(in.name)
	if !strings.HasPrefix(canonicalName(in.distInfo), cn+"-") {
		return fmt.Errorf("%w: %s does not belong to project %q", ErrInvalidWheel, in.distInfo, in.name)
	}
	if fn, ok := strings.CutSuffix(in.o.filename, ".whl"); ok && strings.Count(fn, "-") >= 4 {
		if p, _, _ := strings.Cut(fn, "-"); canonicalName(p) != cn {
			return fmt.Errorf("%w: the file name says project %q, METADATA says %q", ErrInvalidWheel, p, in.name)
		}
	}
	if text, err = in.readMeta("RECORD", true); err != nil {
		return err
	}
	if in.records, err = parseRECORD(text); err != nil {
		return err
	}
	if text, err = in.readMeta("entry_points.txt", false); err != nil {
		return err
	}
	if in.eps, err = parseEntryPoints(text); err != nil {
		return err
	}
	in.scripts = versionedWrappers(in.eps, in.s.PythonVersion)
	return nil
}
