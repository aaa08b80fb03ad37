package hubtest

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// Model returns the files of a small text-classification model that
// hfpack's model checks accept: config, tokenizer and model.safetensors
// holding one F32 tensor of weightBytes (rounded down to a multiple of 4),
// plus files a default selection leaves out (PyTorch, TensorFlow and ONNX
// weights, a README). seed varies the weights.
func Model(weightBytes int64, seed uint64) map[string]Content {
	n := weightBytes / 4
	header, _ := json.Marshal(map[string]any{
		"__metadata__":      map[string]string{"format": "pt"},
		"classifier.weight": map[string]any{"dtype": "F32", "shape": []int64{n}, "data_offsets": []int64{0, 4 * n}},
	})
	for len(header)%8 != 0 {
		header = append(header, ' ')
	}
	prefix := make([]byte, 8, 8+len(header))
	binary.LittleEndian.PutUint64(prefix, uint64(len(header)))
	prefix = append(prefix, header...)
	vocab := "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\ngood\nbad\nfilm\n"
	return map[string]Content{
		"config.json": Bytes([]byte(`{
  "architectures": ["DistilBertForSequenceClassification"],
  "model_type": "distilbert",
  "id2label": {"0": "NEGATIVE", "1": "POSITIVE"},
  "label2id": {"NEGATIVE": 0, "POSITIVE": 1},
  "transformers_version": "4.44.2"
}
`)),
		"tokenizer_config.json":   Bytes([]byte(`{"do_lower_case": true, "model_max_length": 512, "tokenizer_class": "DistilBertTokenizer"}` + "\n")),
		"special_tokens_map.json": Bytes([]byte(`{"cls_token": "[CLS]", "sep_token": "[SEP]", "unk_token": "[UNK]"}` + "\n")),
		"vocab.txt":               Bytes([]byte(vocab)),
		"model.safetensors":       Concat(Bytes(prefix), Pattern(4*n, seed)),
		"pytorch_model.bin":       Pattern(1024, seed+1),
		"tf_model.h5":             Pattern(1024, seed+2),
		"onnx/model.onnx":         Pattern(1024, seed+3),
		"README.md":               Bytes([]byte(fmt.Sprintf("# test model %d\n", seed))),
	}
}

// Pattern is size deterministic pseudo-random bytes, readable at any
// offset without holding them: multi-GB models for benchmarks. Each 64 KiB
// block is a fixed random table XORed with a per-block key, so serving it
// costs little more than a copy.
func Pattern(size int64, seed uint64) Content {
	p := &pattern{size: size, seed: seed}
	for i := 0; i < len(p.table); i += 8 {
		binary.LittleEndian.PutUint64(p.table[i:], splitmix(seed^uint64(i)*0x9e3779b97f4a7c15))
	}
	return p
}

const patternBlock = 64 << 10

type pattern struct {
	size  int64
	seed  uint64
	table [patternBlock]byte
}

func (p *pattern) Size() int64 { return p.size }

func (p *pattern) ReadAt(b []byte, off int64) (int, error) {
	if off >= p.size {
		return 0, io.EOF
	}
	n := len(b)
	if int64(n) > p.size-off {
		n = int(p.size - off)
	}
	for i := 0; i < n; {
		pos := off + int64(i)
		key := splitmix(p.seed ^ uint64(pos/patternBlock))
		var kb [8]byte
		binary.LittleEndian.PutUint64(kb[:], key)
		in := int(pos % patternBlock)
		k := copy(b[i:n], p.table[in:])
		j := 0
		for ; j < k && (in+j)&7 != 0; j++ {
			b[i+j] ^= kb[(in+j)&7]
		}
		for ; j+8 <= k; j += 8 {
			w := b[i+j : i+j+8]
			binary.LittleEndian.PutUint64(w, binary.LittleEndian.Uint64(w)^key)
		}
		for ; j < k; j++ {
			b[i+j] ^= kb[(in+j)&7]
		}
		i += k
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// Concat is the Contents one after another.
func Concat(parts ...Content) Content {
	var size int64
	for _, p := range parts {
		size += p.Size()
	}
	return concat{parts: parts, size: size}
}

type concat struct {
	parts []Content
	size  int64
}

func (c concat) Size() int64 { return c.size }

func (c concat) ReadAt(b []byte, off int64) (int, error) {
	total := 0
	for _, p := range c.parts {
		if len(b) == 0 {
			break
		}
		if off >= p.Size() {
			off -= p.Size()
			continue
		}
		n, err := p.ReadAt(b[:min(int64(len(b)), p.Size()-off)], off)
		total += n
		b = b[n:]
		off = 0
		if err != nil && err != io.EOF {
			return total, err
		}
	}
	if len(b) > 0 {
		return total, io.EOF
	}
	return total, nil
}
