// Command gen produces everything the bundled sst2 example would otherwise
// download: the model directory (a small bag-of-words sentiment classifier in
// Hugging Face layout, written deterministically) and a local stand-in for
// PyPI serving the example's one dependency as a real wheel.
//
//	go run ./examples/sst2/gen model examples/sst2/model
//	go run ./examples/sst2/gen serve 127.0.0.1:8765
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hfpack/hfpack/examples/sst2/demoindex"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gen model DIR | gen serve ADDR")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "model":
		err = writeModel(os.Args[2])
	case "serve":
		err = serve(os.Args[2])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
}

// lexicon is the model: each word's (negative, positive) weight.
var lexicon = map[string][2]float32{
	"awful": {2.0, -2.0}, "bad": {1.5, -1.5}, "boring": {1.2, -1.2}, "dull": {1.0, -1.0},
	"hate": {1.8, -1.8}, "mess": {1.1, -1.1}, "poor": {1.2, -1.2}, "terrible": {2.0, -2.0},
	"waste": {1.6, -1.6}, "worst": {2.2, -2.2}, "not": {0.4, -0.4}, "slow": {0.8, -0.8},
	"beautiful": {-1.6, 1.6}, "brilliant": {-2.0, 2.0}, "charming": {-1.4, 1.4}, "fun": {-1.2, 1.2},
	"good": {-1.5, 1.5}, "great": {-1.8, 1.8}, "love": {-1.8, 1.8}, "moving": {-1.1, 1.1},
	"masterpiece": {-2.2, 2.2}, "wonderful": {-2.0, 2.0}, "best": {-1.9, 1.9}, "enjoyed": {-1.5, 1.5},
	"the": {0, 0}, "a": {0, 0}, "film": {0, 0}, "movie": {0, 0}, "was": {0, 0}, "is": {0, 0},
	"and": {0, 0}, "it": {0, 0}, "this": {0, 0}, "plot": {0, 0}, "acting": {0, 0},
}

func vocab() []string {
	words := make([]string, 0, len(lexicon))
	for w := range lexicon {
		words = append(words, w)
	}
	sort.Strings(words)
	return append([]string{"[PAD]", "[UNK]"}, words...)
}

func writeModel(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	v := vocab()
	weights := make([]float32, 0, 2*len(v))
	for _, w := range v {
		p := lexicon[w]
		weights = append(weights, p[0], p[1])
	}
	bias := []float32{0.05, -0.05}
	st, err := safetensors([]tensor{{"classifier.bias", []int{2}, bias}, {"classifier.weight", []int{len(v), 2}, weights}})
	if err != nil {
		return err
	}
	config := map[string]any{
		"architectures":        []string{"BagOfWordsForSequenceClassification"},
		"model_type":           "hfpack-bow",
		"id2label":             map[string]string{"0": "NEGATIVE", "1": "POSITIVE"},
		"label2id":             map[string]int{"NEGATIVE": 0, "POSITIVE": 1},
		"vocab_size":           len(v),
		"torch_dtype":          "float32",
		"transformers_version": "4.44.2",
	}
	files := map[string][]byte{
		"config.json":             mustJSON(config),
		"tokenizer_config.json":   mustJSON(map[string]any{"do_lower_case": true, "model_max_length": 512, "tokenizer_class": "BertTokenizer", "unk_token": "[UNK]", "pad_token": "[PAD]"}),
		"special_tokens_map.json": mustJSON(map[string]string{"pad_token": "[PAD]", "unk_token": "[UNK]"}),
		"vocab.txt":               []byte(strings.Join(v, "\n") + "\n"),
		"model.safetensors":       st,
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

type tensor struct {
	name  string
	shape []int
	data  []float32
}

// safetensors encodes F32 tensors in the safetensors format: an 8-byte
// little-endian header length, a JSON header padded to 8 bytes, then data.
func safetensors(ts []tensor) ([]byte, error) {
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data bytes.Buffer
	for _, t := range ts {
		start := data.Len()
		for _, f := range t.data {
			_ = binary.Write(&data, binary.LittleEndian, math.Float32bits(f))
		}
		header[t.name] = map[string]any{"dtype": "F32", "shape": t.shape, "data_offsets": []int{start, data.Len()}}
	}
	h, err := json.Marshal(header) // map keys are sorted: stable bytes
	if err != nil {
		return nil, err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	var out bytes.Buffer
	_ = binary.Write(&out, binary.LittleEndian, uint64(len(h)))
	out.Write(h)
	out.Write(data.Bytes())
	return out.Bytes(), nil
}

func serve(addr string) error {
	ix, err := demoindex.New()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gen: serving a local package index on http://%s/simple (Ctrl-C stops it)\n", addr)
	return http.ListenAndServe(addr, ix)
}
