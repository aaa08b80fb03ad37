package wheelinstall

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/lockfile/indextest"
)

// member is one entry of a test wheel.
type member struct {
	name string
	data string
	// mode is the Unix mode written into the external attributes; 0 leaves
	// them unset, as zips made on Windows do.
	mode   fs.FileMode
	stored bool
}

// wheelSpec describes a well-formed test wheel; the builder adds METADATA,
// WHEEL, entry_points.txt and a correct RECORD.
type wheelSpec struct {
	name, version string
	purelib       bool
	wheelVersion  string // default "1.0"
	files         []member
	entryPoints   string
	// record, when set, replaces the generated RECORD.
	record *string
}

func (w wheelSpec) filename() string {
	tag := "py3-none-any"
	if !w.purelib {
		tag = "cp311-cp311-linux_x86_64"
	}
	return fmt.Sprintf("%s-%s-%s.whl", w.name, w.version, tag)
}

func (w wheelSpec) members() []member {
	di := w.name + "-" + w.version + ".dist-info/"
	wv := w.wheelVersion
	if wv == "" {
		wv = "1.0"
	}
	ms := append([]member(nil), w.files...)
	ms = append(ms,
		member{name: di + "METADATA", data: fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: test\n\nLong description.\n", w.name, w.version)},
		member{name: di + "WHEEL", data: fmt.Sprintf("Wheel-Version: %s\nGenerator: hfpack-test\nRoot-Is-Purelib: %t\nTag: py3-none-any\n", wv, w.purelib)},
	)
	if w.entryPoints != "" {
		ms = append(ms, member{name: di + "entry_points.txt", data: w.entryPoints})
	}
	var rec string
	if w.record != nil {
		rec = *w.record
	} else {
		var b strings.Builder
		for _, m := range ms {
			if strings.HasSuffix(m.name, "/") {
				continue // bdist_wheel lists no directories
			}
			fmt.Fprintf(&b, "%s,%s,%d\n", m.name, recordHash(m.data), len(m.data))
		}
		fmt.Fprintf(&b, "%sRECORD,,\n", di)
		rec = b.String()
	}
	return append(ms, member{name: di + "RECORD", data: rec})
}

func recordHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// zipOption changes how writeZip writes an archive.
type zipOption func(archive []byte) []byte

// withCRC makes the archive record crc as member's CRC-32, whatever its
// bytes are: a corrupt archive.
func withCRC(member string, crc uint32) zipOption {
	return func(archive []byte) []byte {
		out, err := indextest.WithCRC32(archive, member, crc)
		if err != nil {
			panic(err)
		}
		return out
	}
}

// writeZip writes members, in order, into dir/name and returns the path and
// its sha256.
func writeZip(t testing.TB, dir, name string, ms []member, opts ...zipOption) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range ms {
		h := &zip.FileHeader{Name: m.name, Method: zip.Deflate, Modified: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
		if m.stored || strings.HasSuffix(m.name, "/") {
			h.Method = zip.Store
		}
		if m.mode != 0 {
			h.SetMode(m.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	for _, o := range opts {
		data = o(data)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return p, hex.EncodeToString(sum[:])
}

func (w wheelSpec) write(t testing.TB, dir string) (string, string) {
	t.Helper()
	return writeZip(t, dir, w.filename(), w.members())
}

// testScheme is an image-like scheme with distinct purelib and platlib so
// routing mistakes show.
var testScheme = Scheme{
	Purelib:     "usr/local/lib/python3.11/site-packages",
	Platlib:     "usr/local/lib64/python3.11/site-packages",
	Scripts:     "usr/local/bin",
	Data:        "usr/local",
	Include:     "usr/local/include/python3.11",
	Interpreter: "/usr/local/bin/python3.11",
}

// readEntry reads a file entry of tr through its Open.
func readEntry(t testing.TB, tr *tree.Tree, p string) (string, error) {
	t.Helper()
	e, ok := tr.Get(p)
	if !ok {
		t.Fatalf("no entry %q in tree", p)
	}
	rc, err := e.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

// materialise writes tr into dir as a layer extraction would.
func materialise(t testing.TB, tr *tree.Tree, dir string) {
	t.Helper()
	for _, e := range tr.Entries() {
		p := filepath.Join(dir, filepath.FromSlash(e.Path))
		switch e.Type {
		case tree.Dir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, e.Mode); err != nil {
				t.Fatal(err)
			}
		case tree.Symlink:
			if err := os.Symlink(e.Linkname, p); err != nil {
				t.Fatal(err)
			}
		case tree.File:
			rc, err := e.Open()
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, e.Mode)
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(f, rc)
			rc.Close()
			if err != nil {
				t.Fatalf("materialising %s: %v", e.Path, err)
			}
			if n != e.Size {
				t.Fatalf("materialising %s: %d bytes, entry says %d", e.Path, n, e.Size)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, e.Mode); err != nil {
				t.Fatal(err)
			}
		}
	}
}
