package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const good = `name = "sst2"

[model]
path = "model"
task = "text-classification"
handler = "handler.py"

[python]
version = "3.11"
requirements = [
  "transformers>=4.44,<5",
  "torch==2.4.1",
  "safetensors",
]
index-url = "https://pypi.org/simple"

[[python.index]]
name = "pytorch-cu121"
url = "https://download.pytorch.org/whl/cu121"
packages = ["torch"]

[accelerator]
type = "NVIDIA_L4"
count = 1

[serving]
max-batch-size = 8
max-batch-delay = "5ms"
request-timeout = "60s"
max-request-bytes = 1572864

[image]
base = ""
`

// project writes a manifest and the files it refers to into a temp dir.
func project(t *testing.T, manifest string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "model"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"handler.py":   "def load(d): pass\n",
		"hfpack.toml":  manifest,
		"notes.txt":    "",
		"model/x.json": "{}",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "hfpack.toml")
}

func TestLoadGood(t *testing.T) {
	path := project(t, good)
	m, err := Load(path)
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if m.Serving.MaxBatchDelay.Duration != 5*time.Millisecond {
		t.Errorf("max-batch-delay = %v, want 5ms", m.Serving.MaxBatchDelay)
	}
	if got, want := m.ModelDir(), filepath.Join(filepath.Dir(path), "model"); got != want {
		t.Errorf("ModelDir() = %q, want %q", got, want)
	}
	if diff := cmp.Diff([]Index{{Name: "pytorch-cu121", URL: "https://download.pytorch.org/whl/cu121", Packages: []string{"torch"}}}, m.Python.Indexes); diff != "" {
		t.Errorf("indexes (-want +got):\n%s", diff)
	}
}

func TestDefaults(t *testing.T) {
	m, err := Load(project(t, "name = \"tiny\"\n[model]\ntask = \"fill-mask\"\n"))
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	want := Manifest{
		Name:        "tiny",
		Model:       Model{Path: "model", Task: "fill-mask"},
		Python:      Python{Version: "3.11", IndexURL: "https://pypi.org/simple"},
		Accelerator: Accelerator{Type: "cpu", Count: 0},
		Serving: Serving{MaxBatchSize: 8, MaxBatchDelay: Duration{Duration: 5 * time.Millisecond},
			RequestTimeout: Duration{Duration: time.Minute}, MaxRequestBytes: 1572864,
			MaxConcurrentStreams: 4, StreamTimeout: Duration{Duration: 10 * time.Minute}, Workers: 1},
	}
	if diff := cmp.Diff(want, *m, cmp.Comparer(func(a, b Duration) bool { return a.Duration == b.Duration }),
		cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "File" || p.String() == "Dir" }, cmp.Ignore())); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if m, _ := Load(project(t, "name = \"g\"\n[model]\ntask = \"fill-mask\"\n[accelerator]\ntype = \"NVIDIA_L4\"\n")); m == nil || m.Accelerator.Count != 1 {
		t.Errorf("GPU accelerator count default = %+v, want 1", m)
	}
	for _, tc := range []struct {
		accel string
		want  int
	}{
		{"type = \"NVIDIA_L4\"\n", 1},
		{"type = \"NVIDIA_L4\"\ncount = 4\n", 4},                         // one worker per GPU
		{"type = \"NVIDIA_L4\"\ncount = 4\n[serving]\nworkers = 1\n", 1}, // device_map
		{"type = \"NVIDIA_L4\"\ncount = 8\n[serving]\nworkers = 2\n", 2},
		{"[serving]\nworkers = 3\n", 3}, // CPU: any number
	} {
		src := "name = \"g\"\n[model]\ntask = \"fill-mask\"\n[accelerator]\n" + tc.accel
		m, err := Load(project(t, src))
		if err != nil || m.Serving.Workers != tc.want {
			t.Errorf("workers for %q = %+v, %v; want %d", tc.accel, m, err, tc.want)
		}
	}
}

// replace returns good with old replaced by new, failing if old is absent.
func replace(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(good, old) {
		t.Fatalf("test bug: %q not in the good manifest", old)
	}
	return strings.Replace(good, old, new, 1)
}

func lineOf(t *testing.T, src, needle string) int {
	t.Helper()
	i := strings.Index(src, needle)
	if i < 0 {
		t.Fatalf("test bug: %q not in manifest", needle)
	}
	return strings.Count(src[:i], "\n") + 1
}

func TestBrokenManifests(t *testing.T) {
	tests := []struct {
		name    string
		old     string // replaced in the good manifest by new
		new     string
		key     string // wanted key in the first error
		at      string // text on the wanted line ("" = line 0)
		message string // substring of the message
	}{
		{"unknown top-level key", `name = "sst2"`, "name = \"sst2\"\nnmae = \"x\"", "nmae", `nmae = "x"`, `did you mean "name"`},
		{"typo in table key", `task = "text-classification"`, `taks = "text-classification"`, "model.taks", `taks =`, `did you mean "model.task"`},
		{"typo in array table key", `url = "https://download.pytorch.org/whl/cu121"`, "url = \"https://download.pytorch.org/whl/cu121\"\nurls = \"x\"", "python.index[0].urls", `urls = "x"`, "unknown key"},
		{"unknown table", `[image]`, "[imagee]", "imagee", "[imagee]", `did you mean "image"`},
		{"missing name", `name = "sst2"`, ``, "name", "", "missing"},
		{"uppercase name", `name = "sst2"`, `name = "SST2"`, "name", `name = "SST2"`, "not a valid image name"},
		{"name with underscore", `name = "sst2"`, `name = "my_model"`, "name", `name = "my_model"`, "lowercase letters, digits"},
		{"name too long", `name = "sst2"`, `name = "` + strings.Repeat("a", 64) + `"`, "name", `name = "aaa`, "at most 63"},
		{"name wrong type", `name = "sst2"`, `name = 42`, "name", `name = 42`, "incompatible types"},
		{"model path missing", `path = "model"`, `path = "nope"`, "model.path", `path = "nope"`, "does not exist"},
		{"model path is a file", `path = "model"`, `path = "notes.txt"`, "model.path", `path = "notes.txt"`, "not a directory"},
		{"unknown task", `task = "text-classification"`, `task = "text-clasification"`, "model.task", `task = "text-clas`, `did you mean "text-classification"`},
		{"handler outside dir", `handler = "handler.py"`, `handler = "../handler.py"`, "model.handler", `handler = "../`, "outside the manifest's directory"},
		{"handler missing", `handler = "handler.py"`, `handler = "nothere.py"`, "model.handler", `handler = "nothere.py"`, "does not exist"},
		{"handler not python", `handler = "handler.py"`, `handler = "notes.txt"`, "model.handler", `handler = "notes.txt"`, "not a Python file"},
		{"python version", `version = "3.11"`, `version = "2.7"`, "python.version", `version = "2.7"`, "unsupported Python"},
		{"empty requirement", `"safetensors",`, `"",`, "python.requirements[2]", `"",`, "empty"},
		{"malformed requirement", `"safetensors",`, `"safetensors>>1",`, "python.requirements[2]", `"safetensors>>1"`, ""},
		{"duplicate requirement", `"safetensors",`, `"Torch>=2",`, "python.requirements[2]", `"Torch>=2"`, "repeats the requirement"},
		{"requirements not a list", `requirements = [`, `requirements = "torch"` + "\nxrequirements = [", "python.requirements", `requirements = "torch"`, "incompatible types"},
		{"index url scheme", `index-url = "https://pypi.org/simple"`, `index-url = "ftp://pypi.org/simple"`, "python.index-url", `index-url = "ftp`, "not an http(s)"},
		{"index url credentials redacted", `index-url = "https://pypi.org/simple"`, `index-url = "ftp://user:s3cret@pypi.org/simple"`, "python.index-url", `index-url = "ftp`, "REDACTED"},
		{"explicit index no packages", `packages = ["torch"]`, `packages = []`, "python.index[0].packages", `packages = []`, "name at least one"},
		{"explicit index no name", `name = "pytorch-cu121"`, ``, "python.index[0].name", "[[python.index]]", "missing"},
		{"unknown accelerator", `type = "NVIDIA_L4"`, `type = "NVIDIA_L5"`, "accelerator.type", `type = "NVIDIA_L5"`, `did you mean "NVIDIA_L4"`},
		{"retired accelerator", `type = "NVIDIA_L4"`, `type = "NVIDIA_TESLA_K80"`, "accelerator.type", `type = "NVIDIA_TESLA_K80"`, "retired"},
		{"gpu count", `count = 1`, `count = 3`, "accelerator.count", `count = 3`, "1, 2, 4 or 8"},
		{"driver version", "count = 1", "count = 1\nmin-driver = \"latest\"", "accelerator.min-driver", `min-driver = "latest"`, "not an NVIDIA driver version"},
		{"cpu with count", "type = \"NVIDIA_L4\"\ncount = 1", "type = \"cpu\"\ncount = 2", "accelerator.count", `count = 2`, "cpu"},
		{"count wrong type", `count = 1`, `count = "one"`, "accelerator.count", `count = "one"`, "incompatible types"},
		{"bad duration", `max-batch-delay = "5ms"`, `max-batch-delay = "5 ms"`, "serving.max-batch-delay", `max-batch-delay`, "not a duration"},
		{"duration unitless", `request-timeout = "60s"`, `request-timeout = "60"`, "serving.request-timeout", `request-timeout`, "not a duration"},
		{"timeout too long", `request-timeout = "60s"`, `request-timeout = "2h"`, "serving.request-timeout", `request-timeout`, "out of range"},
		{"batch size zero", `max-batch-size = 8`, `max-batch-size = 0`, "serving.max-batch-size", `max-batch-size = 0`, "out of range"},
		{"streams zero", `max-request-bytes = 1572864`, "max-request-bytes = 1572864\nmax-concurrent-streams = 0", "serving.max-concurrent-streams", `max-concurrent-streams = 0`, "out of range"},
		{"workers zero", `max-request-bytes = 1572864`, "max-request-bytes = 1572864\nworkers = 0", "serving.workers", `workers = 0`, "out of range"},
		{"workers not sharing GPUs", "count = 1\n\n[serving]\n", "count = 4\n\n[serving]\nworkers = 3\n", "serving.workers", `workers = 3`, "use 1, 2, 4"},
		{"stream timeout too long", `max-request-bytes = 1572864`, "max-request-bytes = 1572864\nstream-timeout = \"3h\"", "serving.stream-timeout", `stream-timeout`, "out of range"},
		{"request bytes too large", `max-request-bytes = 1572864`, `max-request-bytes = 99999999999`, "serving.max-request-bytes", `max-request-bytes`, "out of range"},
		{"base by tag", `base = ""`, `base = "nvidia/cuda:12.4.1-base-ubuntu22.04"`, "image.base", `base = "nvidia`, "not pinned"},
		{"base layout without path", `base = ""`, `base = "oci-layout:"`, "image.base", `base = "oci-layout`, "names no directory"},
		{"not toml", `[image]`, `[image`, "", "[image", "expected"},
		{"duplicate key", `count = 1`, "count = 1\ncount = 2", "accelerator.count", "count = 2", "already"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := replace(t, tc.old, tc.new)
			path := project(t, src)
			_, err := Load(path)
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("Load() = %v, want Errors", err)
			}
			var fe *FieldError
			for _, e := range es {
				if e.Key == tc.key {
					fe = e
					break
				}
			}
			if fe == nil {
				t.Fatalf("no error for key %q in:\n%v", tc.key, err)
			}
			wantLine := 0
			if tc.at != "" {
				wantLine = lineOf(t, src, tc.at)
			}
			if fe.Line != wantLine {
				t.Errorf("line = %d, want %d (%q): %v", fe.Line, wantLine, tc.at, fe)
			}
			if fe.File != path {
				t.Errorf("file = %q, want %q", fe.File, path)
			}
			if !strings.Contains(fe.Msg, tc.message) {
				t.Errorf("message %q does not contain %q", fe.Msg, tc.message)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks the index password: %v", err)
			}
		})
	}
}

func TestSeveralErrorsAtOnce(t *testing.T) {
	src := replace(t, `name = "sst2"`, `name = "Bad Name"`)
	src = strings.Replace(src, `type = "NVIDIA_L4"`, `type = "TPU"`, 1)
	src = strings.Replace(src, `max-batch-delay = "5ms"`, `max-batch-delay = "soon"`, 1)
	_, err := Load(project(t, src))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("Load() = %v, want Errors", err)
	}
	var keys []string
	for _, e := range es {
		keys = append(keys, e.Key)
	}
	if diff := cmp.Diff([]string{"name", "accelerator.type", "serving.max-batch-delay"}, keys); diff != "" {
		t.Errorf("error keys in file order (-want +got):\n%s", diff)
	}
}

func TestRequirementsDigestStable(t *testing.T) {
	a, err := Load(project(t, good))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(project(t, strings.Replace(good, "max-batch-size = 8", "max-batch-size = 16", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if a.RequirementsDigest() != b.RequirementsDigest() {
		t.Errorf("serving change moved the requirements digest")
	}
	c, err := Load(project(t, strings.Replace(good, `"safetensors",`, `"safetensors>=0.4",`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if a.RequirementsDigest() == c.RequirementsDigest() {
		t.Errorf("requirement change kept the requirements digest")
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:secret@host/simple": "https://REDACTED@host/simple",
		"https://token@host/simple":       "https://REDACTED@host/simple",
		"https://host/simple":             "https://host/simple",
		"https://u:p@ho st/%zz":           "https://REDACTED@ho st/%zz",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPositionsScanner(t *testing.T) {
	src := "a = 1\n[t]\nb = \"\"\"x\ny = 2\n\"\"\"\nc = [\n  1, # c\n  'z',\n]\n[[arr]]\nd = {e = 1}\n[[arr]]\nd = 2\n"
	pos := scanPositions(src)
	want := map[string]int{"a": 1, "t": 2, "t.b": 3, "t.c": 6, "t.c[0]": 7, "t.c[1]": 8, "arr[0]": 10, "arr[0].d": 11, "arr[0].d.e": 11, "arr[1].d": 13}
	for k, l := range want {
		if pos[k] != l {
			t.Errorf("line of %q = %d, want %d", k, pos[k], l)
		}
	}
	if _, ok := pos["t.y"]; ok {
		t.Errorf("scanner read a key inside a multi-line string")
	}
}

func TestRequirementMessages(t *testing.T) {
	for req, want := range map[string]string{
		"torch @ https://example.com/torch.whl": "direct URL requirement",
		"torch>=2;;":                            "not a valid PEP 508 requirement",
		"transformers[":                         "not a valid PEP 508 requirement",
	} {
		src := replace(t, `"safetensors",`, `"`+req+`",`)
		_, err := Load(project(t, src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("requirement %q: error %v, want %q", req, err, want)
		}
	}
}

// Python 3.14 is a supported target: python-build-standalone ships a
// verified runtime for it.
func TestPython314(t *testing.T) {
	m, err := Load(project(t, strings.Replace(good, `version = "3.11"`, `version = "3.14"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Python.Version != "3.14" {
		t.Errorf("python.version = %q, want 3.14", m.Python.Version)
	}
}

// [image] catalog is checked when the manifest loads, by the check the
// caller passes (the manifest does not know the catalog's format): its
// error is a manifest error with the key's line.
func TestImageCatalog(t *testing.T) {
	path := project(t, strings.Replace(good, `base = ""`, `catalog = "corp.json"`, 1))
	var checked string
	check := WithCatalogCheck(func(p string) error {
		checked = p
		_, err := os.Stat(p)
		return err
	})
	_, err := Load(path, check)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Key != "image.catalog" || errs[0].Line == 0 {
		t.Fatalf("missing catalog: err = %v, want one image.catalog error with its line", err)
	}
	os.WriteFile(filepath.Join(filepath.Dir(path), "corp.json"), []byte(`{}`), 0o644)
	m, err := Load(path, check)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(path), "corp.json"); m.CatalogPath() != want || checked != want {
		t.Errorf("CatalogPath() = %q, checked %q; want %q", m.CatalogPath(), checked, want)
	}
}
