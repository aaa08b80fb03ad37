package modelcheck

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// st encodes a safetensors file with F32 tensors of the given element counts.
func st(t testing.TB, tensors map[string]int) []byte {
	t.Helper()
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var off int64
	names := []string{}
	for n := range tensors {
		names = append(names, n)
	}
	for _, n := range sortStrings(names) {
		size := int64(tensors[n]) * 4
		header[n] = map[string]any{"dtype": "F32", "shape": []int{tensors[n]}, "data_offsets": []int64{off, off + size}}
		off += size
	}
	h, _ := json.Marshal(header)
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, uint64(len(h)))
	b.Write(h)
	b.Write(make([]byte, off))
	return b.Bytes()
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

const bertConfig = `{"model_type": "bert", "architectures": ["BertForSequenceClassification"], "transformers_version": "4.44.2"}`

// model writes files into a fresh model directory.
func model(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func healthy(t *testing.T) map[string][]byte {
	return map[string][]byte{
		"config.json":       []byte(bertConfig),
		"model.safetensors": st(t, map[string]int{"a": 3, "b": 5}),
		"tokenizer.json":    []byte("{}"),
	}
}

func TestHealthyLayouts(t *testing.T) {
	sharded := healthy(t)
	delete(sharded, "model.safetensors")
	sharded["model-00001-of-00002.safetensors"] = st(t, map[string]int{"a": 3})
	sharded["model-00002-of-00002.safetensors"] = st(t, map[string]int{"b": 5})
	sharded["model.safetensors.index.json"] = []byte(`{"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}`)
	bin := healthy(t)
	delete(bin, "model.safetensors")
	bin["pytorch_model.bin"] = []byte("PK\x03\x04")
	tests := []struct {
		name    string
		files   map[string][]byte
		format  string
		tensors int
		warn    string
	}{
		{"safetensors", healthy(t), FormatSafetensors, 2, ""},
		{"sharded", sharded, FormatShardedSafetensors, 2, ""},
		{"pytorch bin", bin, FormatPyTorchBin, 0, "safetensors loads faster"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Check(model(t, tc.files), Options{Task: "text-classification", Transformers: "4.46.1"})
			if err != nil {
				t.Fatalf("Check() = %v", err)
			}
			if r.Format != tc.format || r.Tensors != tc.tensors || r.ModelType != "bert" {
				t.Errorf("report = %+v, want format %q with %d tensors", r, tc.format, tc.tensors)
			}
			if got := strings.Join(r.Warnings, "\n"); !strings.Contains(got, tc.warn) || (tc.warn == "" && got != "") {
				t.Errorf("warnings = %q, want %q", got, tc.warn)
			}
		})
	}
}

func TestBrokenModels(t *testing.T) {
	truncated := st(t, map[string]int{"a": 4})
	tests := []struct {
		name   string
		change func(map[string][]byte)
		opts   Options
		file   string
		msg    string
	}{
		{"no config", func(f map[string][]byte) { delete(f, "config.json") }, Options{}, "config.json", "missing"},
		{"config not json", func(f map[string][]byte) { f["config.json"] = []byte("{") }, Options{}, "config.json", "not valid JSON"},
		{"no model_type", func(f map[string][]byte) { f["config.json"] = []byte(`{"architectures": []}`) }, Options{}, "config.json", "no model_type"},
		{"no weights", func(f map[string][]byte) { delete(f, "model.safetensors") }, Options{}, "", "has no weights"},
		{"tensorflow only", func(f map[string][]byte) { delete(f, "model.safetensors"); f["tf_model.h5"] = []byte("x") }, Options{}, "", "TensorFlow or Flax"},
		{"truncated safetensors", func(f map[string][]byte) { f["model.safetensors"] = truncated[:len(truncated)-3] }, Options{}, "model.safetensors", "truncated"},
		{"header too long", func(f map[string][]byte) { f["model.safetensors"] = []byte("\xff\xff\xff\xff\x00\x00\x00\x00{}") }, Options{}, "model.safetensors", "larger than the file"},
		{"header not json", func(f map[string][]byte) { f["model.safetensors"] = []byte("\x02\x00\x00\x00\x00\x00\x00\x00[]") }, Options{}, "model.safetensors", "not a JSON object"},
		{"missing shard", func(f map[string][]byte) {
			delete(f, "model.safetensors")
			f["model.safetensors.index.json"] = []byte(`{"weight_map": {"a": "model-00001-of-00002.safetensors"}}`)
		}, Options{}, "model.safetensors.index.json", "missing"},
		{"saved by newer transformers", func(f map[string][]byte) {
			f["config.json"] = []byte(`{"model_type": "bert", "transformers_version": "4.47.0"}`)
		}, Options{Transformers: "4.46.1"}, "config.json", "transformers 4.47.0, newer than the locked transformers 4.46.1: require transformers>=4.47"},
		{"auto_map without opt-in", func(f map[string][]byte) {
			f["config.json"] = []byte(`{"model_type": "x", "auto_map": {"AutoModel": "modeling_x.XModel"}}`)
			f["modeling_x.py"] = []byte("")
		}, Options{}, "config.json", "trust-remote-code = true"},
		{"auto_map code missing", func(f map[string][]byte) {
			f["config.json"] = []byte(`{"model_type": "x", "auto_map": {"AutoModel": "modeling_x.XModel"}}`)
		}, Options{TrustRemoteCode: true}, "config.json", "needs modeling_x.py"},
		{"auto_map from another repo", func(f map[string][]byte) {
			f["config.json"] = []byte(`{"model_type": "x", "auto_map": {"AutoModel": "org/repo--modeling_x.XModel"}}`)
		}, Options{TrustRemoteCode: true}, "config.json", "another Hub repository"},
		{"task does not fit head", func(f map[string][]byte) {}, Options{Task: "token-classification"}, "config.json", "serves text-classification or zero-shot-classification, not task \"token-classification\""},
		{"no tokenizer", func(f map[string][]byte) { delete(f, "tokenizer.json") }, Options{Task: "text-classification"}, "", "no tokenizer files"},
		{"no processor", func(f map[string][]byte) {
			f["config.json"] = []byte(`{"model_type": "vit", "architectures": ["ViTForImageClassification"]}`)
		}, Options{Task: "image-classification"}, "", "preprocessor_config.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := healthy(t)
			tc.change(files)
			_, err := Check(model(t, files), tc.opts)
			var ps *Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Check() = %v, want *Problems", err)
			}
			for _, p := range ps.List {
				if p.File == tc.file && strings.Contains(p.Msg, tc.msg) {
					return
				}
			}
			t.Errorf("no problem in %q containing %q; got:\n%v", tc.file, tc.msg, err)
		})
	}
}

func TestSymlinks(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := model(t, healthy(t))
	if err := os.Symlink(outside, filepath.Join(dir, "escape.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("tokenizer.json", filepath.Join(dir, "inner.json")); err != nil {
		t.Fatal(err)
	}
	_, err := Check(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "escape.json: is a symlink") || strings.Contains(err.Error(), "inner.json") {
		t.Errorf("Check() = %v, want only escape.json refused", err)
	}
}

func TestReportSize(t *testing.T) {
	files := healthy(t)
	var want int64
	for _, b := range files {
		want += int64(len(b))
	}
	r, err := Check(model(t, files), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Size != want || r.Files != len(files) {
		t.Errorf("size %d in %d files, want %d in %d", r.Size, r.Files, want, len(files))
	}
}

func FuzzParseSafetensorsHeader(f *testing.F) {
	f.Add(st(f, map[string]int{"a": 2, "b": 1}))
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":{\"dtype\":1}}"))
	f.Add([]byte("\x40\x00\x00\x00\x00\x00\x00\x00{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}    \x00\x00\x00\x00"))
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x00\x80"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseSafetensorsHeader(bytes.NewReader(b), int64(len(b)))
		if err == nil && h == nil {
			t.Fatal("nil header without error")
		}
	})
}
