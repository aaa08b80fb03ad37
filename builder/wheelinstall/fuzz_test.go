package wheelinstall

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/builder/tree"
)

// FuzzInstall feeds arbitrary bytes to Install as a wheel whose digest is
// right: it must never panic, and whatever it installs must stay inside the
// scheme and read back as it claims (or fail to read, never silently).
func FuzzInstall(f *testing.F) {
	dir := f.TempDir()
	seed := func(ms []member) {
		p, _ := writeZip(f, dir, "seed.whl", ms)
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(b[len(b)/3:])
	}
	for _, w := range pipWheels {
		ms := slices.DeleteFunc(w.members(), func(m member) bool { return len(m.data) > 4096 })
		seed(ms) // a RECORD listing a missing member, too
	}
	// Named as the wheel the target writes, so that seeds install.
	h := wheelSpec{name: "f", version: "1", purelib: true, files: []member{{name: "f/__init__.py", data: ""}}}
	for _, extra := range []member{
		{name: "f/mod.py", data: strings.Repeat("x = 1\n", 500)},
		{name: "f/stored.py", data: strings.Repeat("y = 2\n", 500), stored: true},
		{name: "../evil", data: "x"},
		{name: "f-1.data/../../x", data: "x"},
		{name: "f-1.data/scripts/s", data: "#!python" + strings.Repeat("p", 5000)},
		{name: "f/link", data: "/etc/passwd", mode: fs.ModeSymlink | 0o777},
		{name: "f/__init__.py", data: "dup"},
	} {
		seed(append(h.members(), extra))
	}
	f.Add([]byte{})
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))

	f.Fuzz(func(t *testing.T, data []byte) {
		// Executions in one process run one at a time: reuse one path.
		p := filepath.Join(dir, "f-1-py3-none-any.whl")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		tr := tree.New()
		res, err := Install(tr, p, hex.EncodeToString(sum[:]), testScheme)
		if err != nil {
			if tr.Len() != 0 {
				t.Fatalf("failed Install left %d entries", tr.Len())
			}
			return
		}
		for _, file := range res.Files {
			if !strings.HasPrefix(file.Path, "usr/local/") {
				t.Fatalf("installed %q outside the scheme", file.Path)
			}
			e, ok := tr.Get(file.Path)
			if !ok {
				t.Fatalf("Result lists %q, the tree lacks it", file.Path)
			}
			rc, err := e.Open()
			if err != nil {
				continue
			}
			var buf bytes.Buffer
			n, err := io.Copy(&buf, io.LimitReader(rc, 1<<20))
			rc.Close()
			if err == nil && n < 1<<20 && n != e.Size {
				t.Fatalf("%s: read %d bytes without error, entry says %d", file.Path, n, e.Size)
			}
			if err == nil && n == e.Size {
				// What reads without error is what the archive records (a
				// member's CRC-32), or what was generated (its sha256).
				if got := sha256.Sum256(buf.Bytes()); e.SHA256 != "" && hex.EncodeToString(got[:]) != e.SHA256 {
					t.Fatalf("%s: read without error but the digest differs", file.Path)
				}
				if e.Deflated != nil && crc32.ChecksumIEEE(buf.Bytes()) != e.Deflated.CRC32 {
					t.Fatalf("%s: read without error but the CRC-32 differs from the archive's", file.Path)
				}
			}
		}
	})
}
