package modelcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hfpack/hfpack/python/pep440"
)

// Weight formats Check recognises.
const (
	FormatSafetensors        = "safetensors"
	FormatShardedSafetensors = "safetensors (sharded)"
	FormatPyTorchBin         = "pytorch_model.bin"
)

// Options says what the model must satisfy.
type Options struct {
	// Task is the pipeline task of the default handler; "" when a custom
	// handler loads the model (tokenizer and architecture checks are then skipped).
	Task string
	// TrustRemoteCode is the manifest's opt-in to auto_map custom code.
	TrustRemoteCode bool
	// Transformers is the locked transformers version; "" when none is locked.
	Transformers string
}

// Report describes a model directory that passed.
type Report struct {
	Format              string   `json:"format"`
	ModelType           string   `json:"model-type"`
	Architectures       []string `json:"architectures,omitempty"`
	TransformersVersion string   `json:"transformers-version,omitempty"`
	Files               int      `json:"files"`
	Size                int64    `json:"size"`
	Tensors             int      `json:"tensors"`
	Warnings            []string `json:"warnings,omitempty"`
}

// Problem is one reason a model directory would fail on Vertex.
type Problem struct {
	File string // path relative to the model directory; "" for the directory itself
	Msg  string // the cause, and the fix
}

func (p *Problem) Error() string {
	if p.File == "" {
		return p.Msg
	}
	return p.File + ": " + p.Msg
}

// Problems is every problem found; Check returns it as its error.
type Problems struct {
	Dir  string
	List []*Problem
}

func (ps *Problems) Error() string {
	lines := make([]string, len(ps.List))
	for i, p := range ps.List {
		lines[i] = p.Error()
	}
	if len(lines) == 1 {
		return fmt.Sprintf("model %s: %s", ps.Dir, lines[0])
	}
	return fmt.Sprintf("model %s has %d problems:\n  %s", ps.Dir, len(lines), strings.Join(lines, "\n  "))
}

// config is the part of config.json that Check reads.
type config struct {
	ModelType           string            `json:"model_type"`
	Architectures       []string          `json:"architectures"`
	TransformersVersion string            `json:"transformers_version"`
	AutoMap             map[string]any    `json:"auto_map"`
	ID2Label            map[string]string `json:"id2label"`
}

type checker struct {
	dir   string
	opts  Options
	probs []*Problem
	r     *Report
	files map[string]int64 // relative path -> size, regular files only
}

func (c *checker) problem(file, format string, args ...any) {
	c.probs = append(c.probs, &Problem{File: file, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) warn(format string, args ...any) {
	c.r.Warnings = append(c.r.Warnings, fmt.Sprintf(format, args...))
}

// Check validates the model directory dir. It returns a *Problems error
// listing everything wrong, or a Report.
func Check(dir string, opts Options) (*Report, error) {
	c := &checker{dir: dir, opts: opts, r: &Report{}, files: map[string]int64{}}
	if err := c.walk(); err != nil {
		return nil, err
	}
	cfg := c.config()
	c.weights()
	if cfg != nil {
		c.transformers(cfg)
		c.autoMap(cfg)
		c.task(cfg)
	}
	c.tokenizer()
	if len(c.probs) > 0 {
		return nil, &Problems{Dir: dir, List: c.probs}
	}
	return c.r, nil
}

// walk records every file and refuses symlinks that leave the directory.
func (c *checker) walk() error {
	root, err := filepath.EvalSymlinks(c.dir)
	if err != nil {
		return fmt.Errorf("reading model directory: %w", err)
	}
	return filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading model directory: %w", err)
		}
		rel, _ := filepath.Rel(c.dir, p)
		rel = filepath.ToSlash(rel)
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(p)
			if err != nil {
				c.problem(rel, "is a dangling symlink: replace it with the file it pointed to")
				return nil
			}
			if r, err := filepath.Rel(root, target); err != nil || r == ".." || strings.HasPrefix(r, "../") {
				c.problem(rel, "is a symlink to %s, outside the model directory: copy the file in (the image holds only the directory)", target)
				return nil
			}
		}
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("reading model directory: %w", err)
		}
		if st.Mode().IsRegular() {
			c.files[rel] = st.Size()
			c.r.Files++
			c.r.Size += st.Size()
		}
		return nil
	})
}

func (c *checker) has(name string) bool { _, ok := c.files[name]; return ok }

func (c *checker) config() *config {
	b, err := os.ReadFile(filepath.Join(c.dir, "config.json"))
	if errors.Is(err, fs.ErrNotExist) {
		c.problem("config.json", "missing: save the model with save_pretrained(), which writes config.json")
		return nil
	}
	if err != nil {
		c.problem("config.json", "unreadable: %v", err)
		return nil
	}
	var cfg config
	if err := json.Unmarshal(b, &cfg); err != nil {
		c.problem("config.json", "is not valid JSON: %v", err)
		return nil
	}
	if cfg.ModelType == "" {
		c.problem("config.json", "has no model_type: transformers cannot tell which class loads it; re-save with save_pretrained()")
	}
	c.r.ModelType, c.r.Architectures, c.r.TransformersVersion = cfg.ModelType, cfg.Architectures, cfg.TransformersVersion
	return &cfg
}

func (c *checker) weights() {
	switch {
	case c.has("model.safetensors.index.json"):
		c.r.Format = FormatShardedSafetensors
		c.sharded("model.safetensors.index.json")
	case c.has("model.safetensors"):
		c.r.Format = FormatSafetensors
		c.safetensors("model.safetensors")
	case c.has("pytorch_model.bin") || c.has("pytorch_model.bin.index.json"):
		c.r.Format = FormatPyTorchBin
		c.warn("weights are pickled (pytorch_model.bin): safetensors loads faster and cannot run code; re-save with save_pretrained(safe_serialization=True)")
	case c.has("tf_model.h5") || c.has("flax_model.msgpack"):
		c.problem("", "holds only TensorFlow or Flax weights: the image serves PyTorch; load and re-save with save_pretrained() from PyTorch")
	default:
		c.problem("", "has no weights (model.safetensors, model.safetensors.index.json or pytorch_model.bin): save the model with save_pretrained() into this directory")
	}
}

func (c *checker) safetensors(name string) {
	h, err := ReadSafetensorsHeader(filepath.Join(c.dir, filepath.FromSlash(name)))
	if err != nil {
		c.problem(name, "is not a loadable safetensors file: %v", err)
		return
	}
	c.r.Tensors += len(h.Tensors)
}

func (c *checker) sharded(index string) {
	b, err := os.ReadFile(filepath.Join(c.dir, index))
	if err != nil {
		c.problem(index, "unreadable: %v", err)
		return
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil || len(idx.WeightMap) == 0 {
		c.problem(index, "is not a safetensors index (no weight_map): re-save with save_pretrained()")
		return
	}
	shards := map[string]bool{}
	for _, s := range idx.WeightMap {
		shards[s] = true
	}
	names := make([]string, 0, len(shards))
	for s := range shards {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		if strings.Contains(s, "/") || strings.Contains(s, `\`) || !c.has(s) {
			c.problem(index, "names shard %q, which is missing: copy every shard listed in weight_map", s)
			continue
		}
		c.safetensors(s)
	}
}

func (c *checker) transformers(cfg *config) {
	if cfg.TransformersVersion == "" || c.opts.Transformers == "" {
		return
	}
	saved, err1 := pep440.ParseVersion(cfg.TransformersVersion)
	locked, err2 := pep440.ParseVersion(c.opts.Transformers)
	if err1 != nil || err2 != nil {
		return
	}
	// A model saved by a newer minor release may use config keys or classes
	// the older one lacks; patch releases do not change the format.
	if minor(saved) > minor(locked) {
		c.problem("config.json", "was saved by transformers %s, newer than the locked transformers %s: require transformers>=%s in hfpack.toml and run hfpack lock",
			cfg.TransformersVersion, c.opts.Transformers, minorString(saved))
	}
}

func minor(v pep440.Version) int64 {
	r := v.Release()
	for len(r) < 2 {
		r = append(r, 0)
	}
	return int64(r[0])<<32 | int64(r[1])
}

func minorString(v pep440.Version) string {
	r := v.Release()
	for len(r) < 2 {
		r = append(r, 0)
	}
	return fmt.Sprintf("%d.%d", r[0], r[1])
}

func (c *checker) autoMap(cfg *config) {
	if len(cfg.AutoMap) == 0 {
		return
	}
	if !c.opts.TrustRemoteCode {
		c.problem("config.json", "has auto_map: the model needs its own Python code (trust_remote_code); review it, then set trust-remote-code = true under [model] in hfpack.toml")
	}
	keys := make([]string, 0, len(cfg.AutoMap))
	for k := range cfg.AutoMap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]bool{}
	for _, k := range keys {
		var refs []string
		switch v := cfg.AutoMap[k].(type) {
		case string:
			refs = []string{v}
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					refs = append(refs, s)
				}
			}
		}
		for _, ref := range refs {
			if strings.Contains(ref, "--") {
				c.problem("config.json", "auto_map.%s = %q loads code from another Hub repository, which the image cannot download: copy that code into the model directory", k, ref)
				continue
			}
			mod, _, ok := strings.Cut(ref, ".")
			if !ok || seen[mod] {
				continue
			}
			seen[mod] = true
			if !c.has(mod + ".py") {
				c.problem("config.json", "auto_map.%s needs %s.py, which is not in the model directory: copy it from the model repository", k, mod)
			}
		}
	}
}

// headTasks maps an architecture's head suffix to the tasks it serves.
var headTasks = []struct {
	suffix string
	tasks  []string
}{
	{"ForSequenceClassification", []string{"text-classification", "zero-shot-classification"}},
	{"ForTokenClassification", []string{"token-classification"}},
	{"ForQuestionAnswering", []string{"question-answering"}},
	{"ForMaskedLM", []string{"fill-mask"}},
	{"ForCausalLM", []string{"text-generation"}},
	{"LMHeadModel", []string{"text-generation"}},
	{"ForConditionalGeneration", []string{"text2text-generation", "summarization", "translation", "image-to-text", "automatic-speech-recognition", "text-generation"}},
	{"ForSeq2SeqLM", []string{"text2text-generation", "summarization", "translation"}},
	{"ForImageClassification", []string{"image-classification"}},
	{"ForObjectDetection", []string{"object-detection"}},
	{"ForSemanticSegmentation", []string{"image-segmentation"}},
	{"ForCTC", []string{"automatic-speech-recognition"}},
	{"ForSpeechSeq2Seq", []string{"automatic-speech-recognition"}},
	{"ForAudioClassification", []string{"audio-classification"}},
}

func (c *checker) task(cfg *config) {
	if c.opts.Task == "" || len(cfg.Architectures) == 0 {
		return
	}
	arch := cfg.Architectures[0]
	for _, h := range headTasks {
		if !strings.HasSuffix(arch, h.suffix) {
			continue
		}
		for _, t := range h.tasks {
			if t == c.opts.Task {
				return
			}
		}
		c.problem("config.json", "architecture %s serves %s, not task %q: change model.task in hfpack.toml or save a model with a matching head",
			arch, strings.Join(h.tasks, " or "), c.opts.Task)
		return
	}
	if strings.HasSuffix(arch, "Model") && c.opts.Task != "feature-extraction" {
		c.warn("architecture %s has no task head: the %s pipeline will add a randomly initialised one", arch, c.opts.Task)
	}
}

// textTasks need a tokenizer; visionTasks and audioTasks a processor.
var (
	textTasks = map[string]bool{
		"text-classification": true, "token-classification": true, "question-answering": true, "fill-mask": true,
		"summarization": true, "translation": true, "text-generation": true, "text2text-generation": true,
		"feature-extraction": true, "zero-shot-classification": true, "table-question-answering": true,
	}
	processorTasks = map[string]bool{
		"image-classification": true, "object-detection": true, "image-segmentation": true, "image-feature-extraction": true,
		"zero-shot-image-classification": true, "image-to-text": true, "audio-classification": true, "automatic-speech-recognition": true,
	}
	tokenizerFiles = []string{"tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model", "tokenizer.model", "source.spm"}
)

func (c *checker) tokenizer() {
	switch {
	case textTasks[c.opts.Task]:
		for _, f := range tokenizerFiles {
			if c.has(f) {
				return
			}
		}
		c.problem("", "has no tokenizer files (tokenizer.json, vocab.txt, ...), which task %q needs: save the tokenizer too, tokenizer.save_pretrained(dir)", c.opts.Task)
	case processorTasks[c.opts.Task]:
		if !c.has("preprocessor_config.json") && !c.has("processor_config.json") {
			c.problem("", "has no preprocessor_config.json, which task %q needs: save the processor too, processor.save_pretrained(dir)", c.opts.Task)
		}
	}
}
