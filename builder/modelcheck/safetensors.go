package modelcheck

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// maxHeader caps a safetensors header: real headers are kilobytes to a few
// megabytes; the format's own reference implementation refuses over 100 MB.
const maxHeader = 100 << 20

// dtypeSizes are the element sizes of the safetensors dtypes.
var dtypeSizes = map[string]int64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
	"C64": 8, "F4": 1, "F6_E2M3": 1, "F6_E3M2": 1,
}

// Tensor is one tensor entry of a safetensors header.
type Tensor struct {
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// Header is a parsed safetensors header.
type Header struct {
	Metadata map[string]string
	Tensors  map[string]Tensor
}

// Names returns the tensor names, sorted.
func (h *Header) Names() []string {
	names := make([]string, 0, len(h.Tensors))
	for n := range h.Tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ReadSafetensorsHeader parses the header of the safetensors file at path
// and checks it against the file's size.
func ReadSafetensorsHeader(path string) (*Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return ParseSafetensorsHeader(f, st.Size())
}

// ParseSafetensorsHeader reads a safetensors header from r, whose total size
// is size: an 8-byte little-endian length N, then N bytes of JSON mapping
// tensor names to dtype, shape and data offsets (plus an optional
// "__metadata__" map of strings). Offsets must tile the data region exactly.
func ParseSafetensorsHeader(r io.Reader, size int64) (*Header, error) {
	var n uint64
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
		return nil, fmt.Errorf("reading safetensors header length: %w", err)
	}
	if n > maxHeader || int64(n) > size-8 {
		return nil, fmt.Errorf("safetensors header length %d is larger than the file (%d bytes) or the 100 MB limit", n, size)
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("reading safetensors header: %w", err)
	}
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("safetensors header is not a JSON object: %w", err)
	}
	h := &Header{Tensors: map[string]Tensor{}}
	for name, msg := range entries {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &h.Metadata); err != nil {
				return nil, fmt.Errorf("safetensors __metadata__ is not a map of strings: %w", err)
			}
			continue
		}
		var t Tensor
		if err := json.Unmarshal(msg, &t); err != nil {
			return nil, fmt.Errorf("safetensors tensor %q: %w", name, err)
		}
		h.Tensors[name] = t
	}
	return h, h.validate(size - 8 - int64(n))
}

func (h *Header) validate(dataSize int64) error {
	type span struct{ start, end int64 }
	spans := make([]span, 0, len(h.Tensors))
	for _, name := range h.Names() {
		t := h.Tensors[name]
		es, ok := dtypeSizes[t.DType]
		if !ok {
			return fmt.Errorf("safetensors tensor %q: unknown dtype %q", name, t.DType)
		}
		if len(t.DataOffsets) != 2 || t.DataOffsets[0] < 0 || t.DataOffsets[1] < t.DataOffsets[0] {
			return fmt.Errorf("safetensors tensor %q: data_offsets %v are not [start, end]", name, t.DataOffsets)
		}
		elems := int64(1)
		for _, d := range t.Shape {
			if d < 0 || (d > 0 && elems > (1<<62)/d) {
				return fmt.Errorf("safetensors tensor %q: invalid shape %v", name, t.Shape)
			}
			elems *= d
		}
		want := elems * es
		if t.DType == "F4" {
			want = (elems + 1) / 2
		}
		if got := t.DataOffsets[1] - t.DataOffsets[0]; got != want && !subByte(t.DType) {
			return fmt.Errorf("safetensors tensor %q: %d bytes of data for shape %v of %s, want %d", name, got, t.Shape, t.DType, want)
		}
		spans = append(spans, span{t.DataOffsets[0], t.DataOffsets[1]})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	var at int64
	for _, s := range spans {
		if s.start != at {
			return errors.New("safetensors tensors overlap or leave gaps in the data")
		}
		at = s.end
	}
	if at != dataSize {
		return fmt.Errorf("safetensors data is %d bytes but the header describes %d: the file is truncated or padded", dataSize, at)
	}
	return nil
}

func subByte(dtype string) bool { return dtype == "F6_E2M3" || dtype == "F6_E3M2" }
