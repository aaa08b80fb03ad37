package wheelinstall

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// countingReaderAt counts the reads that reach the file.
type countingReaderAt struct {
	r     io.ReaderAt
	calls int
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.calls++
	return c.r.ReadAt(p, off)
}

// A windowReader reads what the file holds, at any offset and length, with
// io.ReaderAt's errors at the end.
func TestWindowReaderReadsAsTheFile(t *testing.T) {
	data := make([]byte, 10_000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	file := bytes.NewReader(data)
	w := newWindowReader(file, int64(len(data)), 1024)
	// Offsets a hostile zip64 header may give: past the end, near the
	// largest int64 (off+len must not overflow), and negative.
	for _, off := range []int64{int64(len(data)), 1 << 62, math.MaxInt64 - 10, -1} {
		if n, err := w.ReadAt(make([]byte, 30), off); n != 0 || err == nil {
			t.Errorf("ReadAt(30 bytes, %d) = %d, %v; want 0 and an error", off, n, err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		off := rng.Int64N(int64(len(data)) + 600)
		n := rng.IntN(700)
		if i%50 == 0 {
			n = 3000 // past half a window: read directly
		}
		want := make([]byte, n)
		wn, werr := file.ReadAt(want, off)
		got := make([]byte, n)
		gn, gerr := w.ReadAt(got, off)
		if gn != wn || (gerr == nil) != (werr == nil) || !bytes.Equal(got[:gn], want[:wn]) {
			t.Fatalf("ReadAt(%d bytes, %d) = %d, %v; the file gives %d, %v", n, off, gn, gerr, wn, werr)
		}
	}
}

// Reading a wheel of many small members through a window reads the file a
// few times, not once per member.
func TestWindowReaderSavesReads(t *testing.T) {
	var files []member
	for i := range 500 {
		files = append(files, member{name: fmt.Sprintf("m/f%03d.py", i), data: strings.Repeat("x", 100+i)})
	}
	w := wheelSpec{name: "m", version: "1", purelib: true, files: files}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range w.members() {
		f, _ := zw.Create(m.name)
		io.WriteString(f, m.data)
	}
	zw.Close()
	data := buf.Bytes()
	read := func(r io.ReaderAt) {
		zr, err := zip.NewReader(r, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			if _, err := f.DataOffset(); err != nil {
				t.Fatal(err)
			}
		}
	}
	direct, windowed := &countingReaderAt{r: bytes.NewReader(data)}, &countingReaderAt{r: bytes.NewReader(data)}
	read(direct)
	read(newWindowReader(windowed, int64(len(data)), 256<<10))
	if windowed.calls*10 > direct.calls {
		t.Errorf("%d reads of the file through a window, %d without: want a tenth or fewer", windowed.calls, direct.calls)
	}
}
