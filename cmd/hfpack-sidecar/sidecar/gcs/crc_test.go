package gcs

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

// Combining the CRCs of the parts gives the CRC of the whole, wherever it
// is cut, the empty parts included.
func TestCRC32CCombine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 5000)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	want := crc32.Checksum(data, castagnoli)
	for _, cut := range []int{0, 1, 7, 8, 2500, 4095, 4999, 5000} {
		a, b := data[:cut], data[cut:]
		got := crc32cCombine(crc32.Checksum(a, castagnoli), crc32.Checksum(b, castagnoli), int64(len(b)))
		if got != want {
			t.Errorf("cut at %d: combined %08x, want %08x", cut, got, want)
		}
	}
	// Many parts, as a download's chunks.
	var crc uint32
	for off := 0; off < len(data); off += 333 {
		part := data[off:min(off+333, len(data))]
		crc = crc32cCombine(crc, crc32.Checksum(part, castagnoli), int64(len(part)))
	}
	if crc != want {
		t.Errorf("combined over parts of 333 bytes: %08x, want %08x", crc, want)
	}
}
