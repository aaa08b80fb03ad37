package layer

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// failAfter takes n bytes, then fails.
type failAfter struct {
	n   int
	got bytes.Buffer
}

var errFull = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if f.got.Len()+len(p) > f.n {
		return 0, errFull
	}
	return f.got.Write(p)
}

func TestAsyncWriterPassesBytesInOrder(t *testing.T) {
	var want, got bytes.Buffer
	a := newAsyncWriter(tarOnly{&got})
	for i := range 300 {
		p := bytes.Repeat([]byte{byte(i)}, i%1500+i%7*asyncChunk/3)
		want.Write(p)
		if n, err := a.Write(p); n != len(p) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("got %d bytes, want the %d written, in order", got.Len(), want.Len())
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestAsyncWriterReturnsTheWritersError(t *testing.T) {
	a := newAsyncWriter(tarOnly{&failAfter{n: 3 * asyncChunk}})
	p := make([]byte, 64<<10)
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		_, err = a.Write(p)
	}
	if !errors.Is(err, errFull) {
		t.Fatalf("Write after the writer failed = %v, want %v", err, errFull)
	}
	if err := a.Close(); !errors.Is(err, errFull) {
		t.Fatalf("Close = %v, want %v", err, errFull)
	}
}

func TestAsyncWriterCloseWithoutWrites(t *testing.T) {
	a := newAsyncWriter(tarOnly{io.Discard})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}
