package layer

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hfpack/hfpack/builder/tree"
)

func sampleTree(t *testing.T) *tree.Tree {
	t.Helper()
	tr := tree.New()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tr.AddBytes("opt/app/handler.py", 0o600, []byte("print('hi')\n")))
	must(tr.AddBytes("opt/app/run", 0o700, []byte("#!/bin/sh\n")))
	must(tr.AddBytes("opt/"+strings.Repeat("long/", 30)+"f.txt", 0o644, []byte("deep")))
	must(tr.AddSymlink("opt/app/link", "handler.py"))
	must(tr.AddDir("opt/empty", 0o700))
	return tr
}

type hdr struct {
	Name, Linkname       string
	Type                 byte
	Mode                 int64
	Uid, Gid             int
	Uname, Gname         string
	ModTime              time.Time
	AccessTime, ChangeTm time.Time
	PAX                  map[string]string
}

func readTar(t *testing.T, r io.Reader) []hdr {
	t.Helper()
	var out []hdr
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, hdr{h.Name, h.Linkname, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime, h.AccessTime, h.ChangeTime, h.PAXRecords})
	}
}

func TestWriteIsNormalised(t *testing.T) {
	for _, c := range []Compression{Gzip, Zstd, None} {
		t.Run(string(c), func(t *testing.T) {
			l, err := Write(context.Background(), sampleTree(t), t.TempDir(), WithCompression(c), WithEpoch(1700000000))
			if err != nil {
				t.Fatal(err)
			}
			checkHashes(t, l)
			rc, err := l.Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			mt := time.Unix(1700000000, 0).UTC()
			var names []string
			for _, h := range readTar(t, rc) {
				names = append(names, h.Name)
				if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
					t.Errorf("%s: owner %d:%d %q:%q, want 0:0 and no names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
				}
				if !h.ModTime.Equal(mt) || !h.AccessTime.IsZero() || !h.ChangeTm.IsZero() {
					t.Errorf("%s: times %v %v %v, want mtime %v only", h.Name, h.ModTime, h.AccessTime, h.ChangeTm, mt)
				}
				want := map[byte]int64{tar.TypeDir: 0o755, tar.TypeSymlink: 0o777}[h.Type]
				if h.Type == tar.TypeReg {
					want = 0o644
					if strings.HasSuffix(h.Name, "/run") {
						want = 0o755
					}
				}
				if h.Mode != want {
					t.Errorf("%s: mode %o, want %o", h.Name, h.Mode, want)
				}
			}
			if names[0] != "opt/" || names[1] != "opt/app/" {
				t.Errorf("first entries %q, want parent directories first", names[:2])
			}
		})
	}
}

func TestWriteIsDeterministic(t *testing.T) {
	a, err := Write(context.Background(), sampleTree(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// Another zone and umask must not change a byte.
	oldLocal := time.Local
	time.Local = time.FixedZone("X", 5*3600+1800)
	defer func() { time.Local = oldLocal }()
	b, err := Write(context.Background(), sampleTree(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a.Descriptor(), b.Descriptor()); diff != "" {
		t.Errorf("descriptors differ (-first +second):\n%s", diff)
	}
}

func TestUncompressedHasOneHash(t *testing.T) {
	l, err := Write(context.Background(), sampleTree(t), t.TempDir(), WithCompression(None))
	if err != nil {
		t.Fatal(err)
	}
	if d := l.Descriptor(); d.Digest != d.DiffID {
		t.Errorf("uncompressed layer: digest %s != diffID %s", d.Digest, d.DiffID)
	}
}

func TestWriteFailsOnChangedFile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		recorded int64
	}{{"grew", 3}, {"shrank", 10}} {
		t.Run(tc.name, func(t *testing.T) {
			tr := tree.New()
			if err := tr.AddFile("f", 0o644, tc.recorded, func() (io.ReadCloser, error) {
				return io.NopCloser(strings.NewReader("12345")), nil
			}); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			_, err := Write(context.Background(), tr, dir)
			if !errors.Is(err, ErrChanged) {
				t.Errorf("Write() = %v, want ErrChanged", err)
			}
			assertEmpty(t, dir)
		})
	}
}

func TestWriteCancelledLeavesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	tr := tree.New()
	if err := tr.AddFile("big", 0o644, 1<<30, func() (io.ReadCloser, error) {
		cancel()
		return io.NopCloser(zeros{}), nil
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := Write(ctx, tr, dir); !errors.Is(err, context.Canceled) {
		t.Errorf("Write() = %v, want context.Canceled", err)
	}
	assertEmpty(t, dir)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

func TestOpenChecksSize(t *testing.T) {
	l, err := Write(context.Background(), sampleTree(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(l.Path(), l.Descriptor()); err != nil {
		t.Errorf("Open() = %v", err)
	}
	d := l.Descriptor()
	d.Size++
	if _, err := Open(l.Path(), d); err == nil {
		t.Error("Open() with a wrong size = nil error")
	}
}

func TestParseCompression(t *testing.T) {
	for in, want := range map[string]Compression{"gzip": Gzip, "zstd": Zstd, "none": None, "uncompressed": None} {
		if got, err := ParseCompression(in); got != want || err != nil {
			t.Errorf("ParseCompression(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
	if _, err := ParseCompression("lz4"); !errors.Is(err, ErrUnknownCompression) {
		t.Errorf("ParseCompression(lz4) = %v, want ErrUnknownCompression", err)
	}
}

// A golden digest: a change here changes every hfpack image digest.
func TestGoldenDigest(t *testing.T) {
	want := map[Compression]string{}
	b, err := os.ReadFile("testdata/golden")
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if c, d, ok := strings.Cut(line, " "); ok {
			want[Compression(c)] = d
		}
	}
	var got strings.Builder
	for _, c := range []Compression{Gzip, None, Zstd} {
		l, err := Write(context.Background(), sampleTree(t), t.TempDir(), WithCompression(c))
		if err != nil {
			t.Fatal(err)
		}
		d := l.Descriptor().Digest.String()
		got.WriteString(string(c) + " " + d + "\n")
		if os.Getenv("HFPACK_UPDATE_GOLDEN") == "" && want[c] != d {
			t.Errorf("%s layer digest = %s, want %s (HFPACK_UPDATE_GOLDEN=1 rewrites testdata/golden after a deliberate change)", c, d, want[c])
		}
	}
	// Wheel members carried as their DEFLATE streams (see gzipMembers).
	l, err := Write(context.Background(), deflatedTree(t, spliceFixture(t), true), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d := l.Descriptor().Digest.String()
	got.WriteString("gzip+deflated " + d + "\n")
	if os.Getenv("HFPACK_UPDATE_GOLDEN") == "" && want["gzip+deflated"] != d {
		t.Errorf("gzip layer of deflated files: digest = %s, want %s (HFPACK_UPDATE_GOLDEN=1 rewrites testdata/golden after a deliberate change)", d, want["gzip+deflated"])
	}
	if os.Getenv("HFPACK_UPDATE_GOLDEN") != "" {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile("testdata/golden", []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkHashes recomputes the layer's digest, diffID and size from its reads.
func checkHashes(t *testing.T, l *Layer) {
	t.Helper()
	for _, c := range []struct {
		what string
		open func() (io.ReadCloser, error)
		want v1.Hash
	}{{"compressed", l.Compressed, l.desc.Digest}, {"uncompressed", l.Uncompressed, l.desc.DiffID}} {
		rc, err := c.open()
		if err != nil {
			t.Fatal(err)
		}
		got, n, err := v1.SHA256(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("sha256 of %s = %s, want %s", c.what, got, c.want)
		}
		if c.what == "compressed" && n != l.desc.Size {
			t.Errorf("compressed size = %d, want %d", n, l.desc.Size)
		}
	}
}

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }

// WithFileHashes hashes the chosen files' contents from the read that
// writes the layer, and leaves the layer's bytes as they are.
func TestWithFileHashes(t *testing.T) {
	big := strings.Repeat("weights ", 1<<18) // several of the copy's chunks
	tr := sampleTree(t)
	if err := tr.AddBytes("opt/model/big.bin", 0o644, []byte(big)); err != nil {
		t.Fatal(err)
	}
	plain, err := Describe(context.Background(), tr, WithCompression(Gzip))
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]hash.Hash{"opt/model/big.bin": sha256.New(), "opt/app/run": sha256.New()}
	got, err := Describe(context.Background(), tr, WithCompression(Gzip), WithFileHashes(sums))
	if err != nil {
		t.Fatal(err)
	}
	if got != plain {
		t.Errorf("descriptor with file hashes %+v, without %+v", got, plain)
	}
	for path, data := range map[string]string{"opt/model/big.bin": big, "opt/app/run": "#!/bin/sh\n"} {
		want := sha256.Sum256([]byte(data))
		if g := sums[path].Sum(nil); string(g) != string(want[:]) {
			t.Errorf("%s: file hash %x, want %x", path, g, want)
		}
	}
}
