package hubtest

import (
	"bytes"
	"io"
	"testing"
)

// TestPatternReadAtAnyOffset checks that reads at any offset and length
// agree with one whole read: the fetcher's ranges rely on it.
func TestPatternReadAtAnyOffset(t *testing.T) {
	p := Pattern(300000, 9)
	whole, err := io.ReadAll(io.NewSectionReader(p, 0, p.Size()))
	if err != nil || int64(len(whole)) != p.Size() {
		t.Fatalf("read %d bytes, %v", len(whole), err)
	}
	for _, r := range [][2]int{{0, 1}, {1, 7}, {5, 70000}, {65535, 3}, {65536, 65536}, {299990, 10}, {123457, 99999}} {
		b := make([]byte, r[1])
		n, err := p.ReadAt(b, int64(r[0]))
		if n != r[1] || err != nil && err != io.EOF || !bytes.Equal(b, whole[r[0]:r[0]+r[1]]) {
			t.Errorf("ReadAt(%d, %d) = %d, %v; bytes differ: %t", r[0], r[1], n, err, !bytes.Equal(b[:n], whole[r[0]:r[0]+n]))
		}
	}
	if bytes.Equal(whole[:65536], whole[65536:131072]) {
		t.Error("blocks repeat: a chunk at the wrong offset would go unnoticed")
	}
	if q, _ := io.ReadAll(io.NewSectionReader(Pattern(300000, 10), 0, 300000)); bytes.Equal(q, whole) {
		t.Error("seeds give the same bytes")
	}
}
