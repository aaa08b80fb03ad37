package hub

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Selection chooses the files of a repository to pin and serve.
//
// Without Include and Exclude it is what a transformers from_pretrained
// load needs from the repository's top level: configs, tokenizer files and
// the safetensors weights with their index; the PyTorch *.bin weights only
// when there are no safetensors; never TensorFlow, Flax or ONNX weights;
// *.py files only with TrustRemoteCode. Include adds files to that default,
// Exclude removes files from the result (Exclude wins). Patterns are
// huggingface_hub's allow_patterns: shell globs over the whole path where
// '*' also matches '/', and a pattern ending in '/' selects a directory.
type Selection struct {
	Include         []string
	Exclude         []string
	TrustRemoteCode bool
}

// defaultFiles are matched against top-level file names.
var defaultFiles = []string{
	"config.json", "generation_config.json", "preprocessor_config.json", "processor_config.json",
	"video_preprocessor_config.json", "feature_extractor_config.json", "image_processor_config.json",
	"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
	"vocab.txt", "vocab.json", "merges.txt", "*.model", "*.spm", "*.tiktoken",
	"chat_template.jinja", "chat_template.json",
}

var (
	safetensorsFiles = []string{"*.safetensors", "*.safetensors.index.json"}
	pytorchFiles     = []string{"pytorch_model*.bin", "pytorch_model.bin.index.json"}
)

// Select returns the selected paths of files, sorted.
func (s Selection) Select(files []string) ([]string, error) {
	inc, err := compileAll(s.Include)
	if err != nil {
		return nil, err
	}
	exc, err := compileAll(s.Exclude)
	if err != nil {
		return nil, err
	}
	weights := pytorchFiles
	for _, f := range files {
		if !strings.Contains(f, "/") && matchAny(safetensorsFiles, f) {
			weights = safetensorsFiles
			break
		}
	}
	var out []string
	for _, f := range files {
		top := !strings.Contains(f, "/")
		def := top && (matchAny(defaultFiles, f) || matchAny(weights, f) || s.TrustRemoteCode && path.Ext(f) == ".py")
		if (def || anyRegexp(inc, f)) && !anyRegexp(exc, f) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func matchAny(globs []string, name string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

func anyRegexp(rs []*regexp.Regexp, s string) bool {
	for _, r := range rs {
		if r.MatchString(s) {
			return true
		}
	}
	return false
}

func compileAll(patterns []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(patterns))
	for _, p := range patterns {
		r, err := compilePattern(p)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ValidPattern checks an include or exclude pattern.
func ValidPattern(p string) error {
	_, err := compilePattern(p)
	return err
}

// compilePattern translates an fnmatch pattern as Python's fnmatch does:
// '*' any run of characters (including '/'), '?' one character, [seq] and
// [!seq] classes.
func compilePattern(p string) (*regexp.Regexp, error) {
	if p == "" {
		return nil, fmt.Errorf("empty pattern")
	}
	if strings.ContainsRune(p, 0) {
		return nil, fmt.Errorf("pattern %q contains a NUL byte", p)
	}
	if strings.HasSuffix(p, "/") {
		p += "*"
	}
	var b strings.Builder
	b.WriteString(`^(?s:`)
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			j := i + 1
			if j < len(rs) && rs[j] == '!' {
				j++
			}
			if j < len(rs) && rs[j] == ']' {
				j++
			}
			for j < len(rs) && rs[j] != ']' {
				j++
			}
			if j >= len(rs) {
				b.WriteString(`\[`) // unclosed: a literal '[', as fnmatch does
				continue
			}
			class := string(rs[i+1 : j])
			neg := strings.HasPrefix(class, "!")
			if neg {
				class = class[1:]
			}
			class = strings.ReplaceAll(class, `\`, `\\`)
			class = strings.ReplaceAll(class, `[`, `\[`)
			if neg {
				b.WriteString(`[^` + class + `]`)
			} else {
				b.WriteString(`[` + class + `]`)
			}
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`)$`)
	r, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", p, err)
	}
	return r, nil
}
