package gcs

import (
	"encoding/binary"
	"hash/crc32"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cCombine returns the CRC32C of a+b from crcA, the CRC32C of a, and
// crcB, the CRC32C of b, which is lenB bytes long (zlib's crc32_combine:
// appending lenB zero bits to crcA is a linear map over GF(2), applied by
// repeated squaring of the one-zero-bit operator).
func crc32cCombine(crcA, crcB uint32, lenB int64) uint32 {
	if lenB <= 0 {
		return crcA
	}
	var even, odd [32]uint32
	odd[0] = 0x82f63b78 // Castagnoli, reversed
	row := uint32(1)
	for n := 1; n < 32; n++ {
		odd[n] = row
		row <<= 1
	}
	gf2Square(&even, &odd) // two zero bits
	gf2Square(&odd, &even) // four zero bits
	for {
		gf2Square(&even, &odd) // one zero byte, then 4, 16, ...
		if lenB&1 != 0 {
			crcA = gf2Times(&even, crcA)
		}
		if lenB >>= 1; lenB == 0 {
			break
		}
		gf2Square(&odd, &even)
		if lenB&1 != 0 {
			crcA = gf2Times(&odd, crcA)
		}
		if lenB >>= 1; lenB == 0 {
			break
		}
	}
	return crcA ^ crcB
}

func gf2Times(mat *[32]uint32, vec uint32) uint32 {
	var sum uint32
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat *[32]uint32) {
	for n := range mat {
		square[n] = gf2Times(mat, mat[n])
	}
}

// sum32 is a finished CRC as a hash.Hash, for file.check.
type sum32 uint32

func (s sum32) Write(p []byte) (int, error) { return len(p), nil }
func (s sum32) Sum(b []byte) []byte         { return binary.BigEndian.AppendUint32(b, uint32(s)) }
func (s sum32) Reset()                      {}
func (s sum32) Size() int                   { return 4 }
func (s sum32) BlockSize() int              { return 1 }
