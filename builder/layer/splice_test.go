package layer

import (
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/flate"

	"github.com/hfpack/hfpack/builder/tree"
)

// deflate returns data as a raw DEFLATE stream at level, as a zip
// member's method 8 data.
func deflate(t testing.TB, data []byte, level int) []byte {
	t.Helper()
	var b bytes.Buffer
	fw, err := flate.NewWriter(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// source is text of n bytes: Python-like, different per seed.
func source(n, seed int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "def f%d_%d(x):\n    return x * %d\n", seed, i, (i*7919+seed)%1000)
	}
	return b.Bytes()[:n]
}

type deflatedFile struct {
	path string
	data []byte // the contents
	raw  []byte // the stream
	sum  string // recorded sha256; "" for none
	size int64  // recorded size
	crc  uint32 // recorded CRC-32
}

func newDeflated(t testing.TB, p string, data []byte, level int) deflatedFile {
	s := sha256.Sum256(data)
	return deflatedFile{path: p, data: data, raw: deflate(t, data, level), sum: hex.EncodeToString(s[:]), size: int64(len(data)), crc: crc32.ChecksumIEEE(data)}
}

// deflatedTree holds files with their DEFLATE streams (with Deflated set
// when deflated is true) between plain ones.
func deflatedTree(t testing.TB, files []deflatedFile, deflated bool) *tree.Tree {
	t.Helper()
	tr := tree.New()
	for i, f := range files {
		e := tree.Entry{Path: f.path, Type: tree.File, Mode: 0o644, Size: f.size, SHA256: f.sum,
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(f.data)), nil }}
		if deflated {
			e.Deflated = &tree.Deflated{Size: int64(len(f.raw)), CRC32: f.crc, Open: func() (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(f.raw)), nil
			}}
		}
		if err := tr.Add(e); err != nil {
			t.Fatal(err)
		}
		if err := tr.AddBytes(fmt.Sprintf("plain/%03d.txt", i), 0o644, source(100+i*300, -i)); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

func spliceFixture(t testing.TB) []deflatedFile {
	files := []deflatedFile{
		newDeflated(t, "sp/a_small.py", source(5000, 1), 6),
		newDeflated(t, "sp/b_tiny.py", source(300, 2), 9),               // under spliceMin: compressed again
		newDeflated(t, "sp/c_stored.bin", weightsOf(3000, 3), 0),        // stored blocks
		newDeflated(t, "sp/d_large.so", weightsOf(3*prefetchMax, 4), 1), // streamed
		newDeflated(t, "sp/e_large.py", source(2*prefetchMax+17, 5), 9),
		newDeflated(t, "sp/f_huffman.txt", source(40000, 6), flate.HuffmanOnly),
	}
	// A zip member's data may run on past the end of its stream: only the
	// stream is carried.
	g := newDeflated(t, "sp/g_trailing.py", source(9000, 7), 6)
	g.raw = append(g.raw, "trailing bytes after the stream"...)
	h := newDeflated(t, "sp/h_trailing_large.py", source(prefetchMax+100, 8), 6)
	h.raw = append(h.raw, bytes.Repeat([]byte{0xff}, 70000)...)
	return append(files, g, h)
}

func weightsOf(n, seed int) []byte {
	b := make([]byte, n)
	x := uint64(seed)*2654435761 + 88172645463325252
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

// A file that comes with its DEFLATE stream is carried in the gzip layer
// as that stream, in a member of its own: the layer is the same tar (same
// diffID), every gzip reader reads it back whole, and the streams are in
// the blob byte for byte.
func TestSplicedLayerIsTheSameTar(t *testing.T) {
	files := spliceFixture(t)
	ctx := context.Background()
	dir := t.TempDir()
	spliced, err := Write(ctx, deflatedTree(t, files, true), dir)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Write(ctx, deflatedTree(t, files, false), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tarOnly, err := Describe(ctx, deflatedTree(t, files, false), WithCompression(None))
	if err != nil {
		t.Fatal(err)
	}
	sd := spliced.Descriptor()
	if sd.DiffID != plain.Descriptor().DiffID || sd.DiffID != tarOnly.Digest {
		t.Fatalf("spliced layer's diffID %s, want the tar's %s", sd.DiffID, tarOnly.Digest)
	}
	if sd.Digest == plain.Descriptor().Digest {
		t.Fatal("spliced layer has the digest of the recompressed one: nothing was spliced")
	}
	checkHashes(t, spliced)
	blob, err := os.ReadFile(spliced.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		stream := f.raw
		if i := bytes.Index(stream, []byte("trailing")); i > 0 {
			stream = stream[:i]
		} else if f.path == "sp/h_trailing_large.py" {
			stream = bytes.TrimRight(stream, "\xff")
		}
		in := bytes.Contains(blob, stream)
		if want := f.size >= spliceMin; in != want {
			t.Errorf("%s: its stream in the blob = %v, want %v", f.path, in, want)
		}
	}
	if bytes.Contains(blob, []byte("trailing bytes")) || bytes.Contains(blob, bytes.Repeat([]byte{0xff}, 1000)) {
		t.Error("the blob carries bytes from past the end of a stream")
	}
	want := tarBytes(t, deflatedTree(t, files, false))
	readers := map[string]func([]byte) ([]byte, error){
		"compress/gzip": func(b []byte) ([]byte, error) {
			zr, err := stdgzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			return io.ReadAll(zr)
		},
		"layer.Uncompressed": func([]byte) ([]byte, error) {
			rc, err := spliced.Uncompressed()
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			return io.ReadAll(rc)
		},
	}
	for _, tool := range []string{"gzip", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			continue
		}
		readers[tool] = func(b []byte) ([]byte, error) {
			cmd := exec.Command("gzip", "-dc")
			if tool == "python3" {
				cmd = exec.Command("python3", "-c", "import gzip,sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))")
			}
			cmd.Stdin = bytes.NewReader(b)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				return nil, fmt.Errorf("%v: %s", err, stderr.String())
			}
			return out, nil
		}
	}
	for name, read := range readers {
		got, err := read(blob)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s reads %d bytes, want the layer's tar of %d", name, len(got), len(want))
		}
	}
	again, err := Write(ctx, deflatedTree(t, files, true), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if again.Descriptor() != sd {
		t.Errorf("second write = %+v, want %+v", again.Descriptor(), sd)
	}
}

// tarBytes is t's layer as an uncompressed tar.
func tarBytes(t *testing.T, tr *tree.Tree) []byte {
	t.Helper()
	l, err := Write(context.Background(), tr, t.TempDir(), WithCompression(None))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A stream that does not inflate to the recorded contents fails the layer,
// naming the file, whether it is read ahead or streamed; nothing is left.
func TestSplicedLayerRefusesBadStreams(t *testing.T) {
	for _, size := range []int{5000, 2*prefetchMax + 5} {
		good := newDeflated(t, "sp/m.py", source(size, 9), 6)
		longer := newDeflated(t, "sp/m.py", source(size+1, 9), 6)
		longer.size, longer.sum, longer.crc = good.size, good.sum, good.crc
		shorter := newDeflated(t, "sp/m.py", source(size-1, 9), 6)
		shorter.size, shorter.sum, shorter.crc = good.size, good.sum, good.crc
		wrongSum := good
		wrongSum.sum = strings.Repeat("0", 64)
		wrongCRC := good
		wrongCRC.sum, wrongCRC.crc = "", good.crc^1 // a wheel member: no sha256, its zip CRC-32
		corrupt := good
		corrupt.raw = append([]byte{0xff, 0xff}, good.raw[2:]...)
		cut := good
		cut.raw = good.raw[:len(good.raw)/2]
		for _, c := range []struct {
			name string
			f    deflatedFile
			want error
		}{
			{"longer", longer, ErrBadDeflate},
			{"shorter", shorter, ErrBadDeflate},
			{"wrong sha256", wrongSum, ErrContentMismatch},
			{"wrong CRC-32", wrongCRC, ErrContentMismatch},
			{"corrupt", corrupt, ErrBadDeflate},
			{"cut short", cut, ErrBadDeflate},
		} {
			t.Run(fmt.Sprintf("%s/%d", c.name, size), func(t *testing.T) {
				dir := t.TempDir()
				_, err := Write(context.Background(), deflatedTree(t, []deflatedFile{c.f}, true), dir)
				if !errors.Is(err, c.want) || !strings.Contains(err.Error(), `"sp/m.py"`) {
					t.Fatalf("Write() = %v, want %v naming sp/m.py", err, c.want)
				}
				left, _ := filepath.Glob(filepath.Join(dir, "sha256", "*"))
				if len(left) > 0 {
					t.Errorf("a failed write left %v", left)
				}
			})
		}
	}
}

// Files read ahead and spliced keep their place, and the hashes asked for
// come from the inflated contents.
func TestSplicedLayerFileHashes(t *testing.T) {
	files := spliceFixture(t)
	hashes := map[string]hash.Hash{}
	for _, f := range files {
		hashes[f.path] = sha256.New()
	}
	if _, err := Describe(context.Background(), deflatedTree(t, files, true), WithFileHashes(hashes)); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if got := hex.EncodeToString(hashes[f.path].Sum(nil)); got != f.sum {
			t.Errorf("%s: file hash %s, want %s", f.path, got, f.sum)
		}
	}
}
