package layer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/builder/tree"
)

// Files read ahead reach the layer as those read in turn do: a layer of
// many small files and a few large ones has the digest of the same files
// streamed one by one (the uncompressed layer is never read ahead), and the
// first file in path order that fails is the one reported, whatever fails
// after it.
func TestReadAheadKeepsOrderAndFirstError(t *testing.T) {
	build := func(bad map[int]error) *tree.Tree {
		tr := tree.New()
		for i := range 3 * prefetchDepth {
			size := 100 + i*37
			if i%40 == 7 {
				size = prefetchMax + 1 + i // streamed, not read ahead
			}
			data := bytes.Repeat([]byte{byte(i)}, size)
			err := bad[i]
			if err := tr.AddFile(fmt.Sprintf("d/f%03d", i), 0o644, int64(size), func() (io.ReadCloser, error) {
				if err != nil {
					return nil, err
				}
				return io.NopCloser(bytes.NewReader(data)), nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		return tr
	}
	gz, err := Describe(context.Background(), build(nil))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Describe(context.Background(), build(nil), WithCompression(None))
	if err != nil {
		t.Fatal(err)
	}
	if gz.DiffID != raw.Digest {
		t.Errorf("gzip layer's diffID %s, want the uncompressed tar's digest %s", gz.DiffID, raw.Digest)
	}
	first, later := errors.New("first"), errors.New("later")
	_, err = Describe(context.Background(), build(map[int]error{50: first, 51: later, 90: later}))
	if !errors.Is(err, first) || !strings.Contains(err.Error(), "d/f050") {
		t.Errorf("Describe() = %v, want the error of d/f050", err)
	}
	h := sha256.New()
	if _, err := Describe(context.Background(), build(nil), WithFileHashes(map[string]hash.Hash{"d/f003": h})); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(bytes.Repeat([]byte{3}, 100+3*37))
	if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
		t.Errorf("file hash of a file read ahead = %x, want %x", got, want)
	}
}
