package layer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/hfpack/hfpack/builder/tree"
)

func TestTreeLayerMatchesWrite(t *testing.T) {
	for _, c := range []Compression{None, Gzip} {
		t.Run(string(c), func(t *testing.T) {
			written, err := Write(context.Background(), sampleTree(t), t.TempDir(), WithCompression(c))
			if err != nil {
				t.Fatal(err)
			}
			d, err := Describe(context.Background(), sampleTree(t), WithCompression(c))
			if err != nil {
				t.Fatal(err)
			}
			if d != written.Descriptor() {
				t.Errorf("Describe() = %+v, Write() = %+v", d, written.Descriptor())
			}
			l, err := FromTree(sampleTree(t), d, WithCompression(c))
			if err != nil {
				t.Fatal(err)
			}
			checkHashes(t, &Layer{path: written.Path(), desc: d})
			for range 2 { // readable more than once
				rc, err := l.Compressed()
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(rc)
				rc.Close()
				want, _ := readFile(written.Path())
				if !bytes.Equal(got, want) {
					t.Errorf("regenerated blob differs from the written one (%d vs %d bytes)", len(got), len(want))
				}
			}
		})
	}
}

func TestTreeLayerDetectsChangedInput(t *testing.T) {
	contents := []byte("version 1")
	mk := func() *tree.Tree {
		tr := tree.New()
		tr.AddFile("w.bin", 0o644, int64(len(contents)), func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(contents)), nil
		})
		return tr
	}
	d, err := Describe(context.Background(), mk(), WithCompression(None))
	if err != nil {
		t.Fatal(err)
	}
	l, err := FromTree(mk(), d, WithCompression(None))
	if err != nil {
		t.Fatal(err)
	}
	copy(contents, "VERSION 1") // same size, new bytes
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("reading a layer whose input changed = %v, want ErrDigestMismatch", err)
	}
}

func TestFromTreeRejectsOtherCompression(t *testing.T) {
	d, err := Describe(context.Background(), sampleTree(t), WithCompression(None))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromTree(sampleTree(t), d, WithCompression(Gzip)); err == nil {
		t.Error("FromTree() with another compression = nil error")
	}
}
