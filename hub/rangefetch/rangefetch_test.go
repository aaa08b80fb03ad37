package rangefetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newFile(t *testing.T, dir string, size int64) *File {
	t.Helper()
	return &File{Name: "model.bin", Generation: "7", Size: size,
		Partial: filepath.Join(dir, "x.partial"), StateFile: filepath.Join(dir, "x.state")}
}

// A file filled in two runs, the first interrupted after a checkpoint,
// resumes the saved chunks, fetches only the rest and reads back whole.
func TestResumeAfterCheckpoint(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("0123456789abcdef"), 1000) // 16000 bytes
	size := int64(len(data))
	f := newFile(t, dir, size)
	if have, err := f.Open(4096, false); err != nil || have != 0 {
		t.Fatalf("Open = %d, %v; want 0, nil", have, err)
	}
	if got := f.Missing(); len(got) != 4 {
		t.Fatalf("Missing() = %v, want 4 chunks", got)
	}
	buf := make([]byte, 1000)
	var added int64
	add := func(n int64) { added += n }
	// Chunk 0 whole, chunk 2 in part, then the run dies.
	s, e := f.Span(0)
	if err := f.Fill(0, s, e, bytes.NewReader(data[s:e]), buf, add); err != nil {
		t.Fatal(err)
	}
	s, e = f.Span(2)
	if err := f.Fill(2, s, e, bytes.NewReader(data[s:s+1500]), buf, add); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Fill of a short body = %v, want io.ErrUnexpectedEOF", err)
	}
	f.Checkpoint(true)
	f.Close()

	g := newFile(t, dir, size)
	have, err := g.Open(1<<20, false) // another chunk size: the saved one wins
	if err != nil || have != 4096+1500 {
		t.Fatalf("resumed Open = %d, %v; want %d", have, err, 4096+1500)
	}
	if got := g.Missing(); len(got) != 3 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("Missing() after resume = %v, want [1 2 3]", got)
	}
	if s, _ := g.Span(2); s != 2*4096+1500 {
		t.Fatalf("Span(2) start = %d, want %d", s, 2*4096+1500)
	}
	h := sha256.New()
	type res struct {
		n   int64
		c   bool
		err error
	}
	done := make(chan res)
	go func() {
		n, c, err := g.Follow(context.Background(), h)
		done <- res{n, c, err}
	}()
	for _, i := range g.Missing() {
		s, e := g.Span(i)
		if err := g.Fill(i, s, e, bytes.NewReader(data[s:e]), buf, add); err != nil {
			t.Fatal(err)
		}
	}
	r := <-done
	if r.err != nil || r.c || r.n != size {
		t.Fatalf("Follow = %d, %v, %v; want %d bytes", r.n, r.c, r.err, size)
	}
	if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatal("Follow read other bytes than were fetched")
	}
	g.Close()
	if got, _ := os.ReadFile(g.Partial); !bytes.Equal(got, data) {
		t.Fatal("the partial file holds other bytes than were fetched")
	}
}

// A state saved for other bytes (another generation) is not resumed: the
// partial file starts over.
func TestStaleStateStartsOver(t *testing.T) {
	dir := t.TempDir()
	f := newFile(t, dir, 8192)
	f.Open(4096, false)
	s, e := f.Span(0)
	f.Fill(0, s, e, strings.NewReader(strings.Repeat("a", 4096)), make([]byte, 512), func(int64) {})
	f.Checkpoint(true)
	f.Close()

	g := newFile(t, dir, 8192)
	g.Generation = "8"
	have, err := g.Open(4096, false)
	if err != nil || have != 0 {
		t.Fatalf("Open with another generation = %d, %v; want 0", have, err)
	}
	if b, _ := os.ReadFile(g.Partial); bytes.Contains(b, []byte("a")) {
		t.Fatal("the partial file still holds the other generation's bytes")
	}
	g.Close()

	h := newFile(t, dir, 8192)
	if have, _ := h.Open(4096, true); have != 0 {
		t.Fatalf("fresh Open = %d, want 0", have)
	}
	h.Close()
}

// Follow stops, without error, when its context ends first.
func TestFollowCancelled(t *testing.T) {
	f := newFile(t, t.TempDir(), 100)
	f.Open(64, false)
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, c, err := f.Follow(ctx, io.Discard); !c || err != nil {
		t.Fatalf("Follow after cancel = %v, %v; want cancelled, nil", c, err)
	}
}

// Open reserves the whole file's blocks, so that a disk too small fails at
// once rather than part way through a download.
func TestOpenPreallocates(t *testing.T) {
	dir := t.TempDir()
	if !canPreallocate(dir) {
		t.Skip("no fallocate on this system or file system")
	}
	f := newFile(t, dir, 3<<20)
	if _, err := f.Open(1<<20, false); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Out().Stat()
	if err != nil {
		t.Fatal(err)
	}
	if got := allocated(fi); fi.Size() != 3<<20 || got < 3<<20 {
		t.Errorf("partial file is %d bytes, %d allocated, after Open; want %d both", fi.Size(), got, 3<<20)
	}
}

// OnWrite sees every byte Fill writes, in order within its chunk, and Wait
// returns once all are present (false when cancelled first).
func TestOnWriteAndWait(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	f := newFile(t, t.TempDir(), int64(len(data)))
	seen := map[int][]byte{}
	f.OnWrite = func(i int, p []byte) { seen[i] = append(seen[i], p...) }
	if _, err := f.Open(4096, false); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if f.Wait(ctx) {
		t.Fatal("Wait with nothing fetched and ctx ended = true")
	}
	waited := make(chan bool)
	go func() { waited <- f.Wait(context.Background()) }()
	for _, i := range []int{2, 0, 1} {
		s, e := f.Span(i)
		if err := f.Fill(i, s, e, bytes.NewReader(data[s:e]), make([]byte, 1000), func(int64) {}); err != nil {
			t.Fatal(err)
		}
	}
	if !<-waited {
		t.Fatal("Wait = false with every byte present")
	}
	for i := range 3 {
		if s := int64(i) * 4096; !bytes.Equal(seen[i], data[s:s+f.ChunkLen(i)]) {
			t.Errorf("OnWrite saw %d bytes of chunk %d, not the chunk's", len(seen[i]), i)
		}
	}
}
