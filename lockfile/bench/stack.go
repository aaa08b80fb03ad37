package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hfpack/hfpack/lockfile/indextest"
)

// Project is one project of the synthetic stack.
type Project struct {
	Name string
	// Versions, oldest first.
	Versions []string
	// Requires are the Requires-Dist lines of every version.
	Requires []string
	// RequiresAt adds Requires-Dist lines to single versions.
	RequiresAt map[string][]string
	// Extras maps an extra to its requirements (markers allowed).
	Extras map[string][]string
	// RequiresPython gives single versions a Requires-Python.
	RequiresPython map[string]string
	// Yanked versions are listed but yanked.
	Yanked []string
	// Compiled projects ship cp311 manylinux wheels (and a macOS wheel the
	// resolvers must skip) instead of one py3-none-any wheel.
	Compiled bool
	// Torch projects live on the second, PyTorch-style index.
	Torch bool
}

// minors returns n versions "major.minor.patch" ending at major.last.patch,
// oldest first.
func minors(major, last, n int, patch int) []string {
	var out []string
	for m := last - n + 1; m <= last; m++ {
		if m >= 0 {
			out = append(out, fmt.Sprintf("%d.%d.%d", major, m, patch))
		}
	}
	return out
}

func list(vs ...string) []string { return vs }

// Stack is the synthetic Hugging Face serving stack: about 90 projects,
// several versions each, with extras, markers that exclude dependencies on
// Linux or on Python 3.11, a yanked release, a pre-release, a version that
// needs a newer Python, and conflicts that force backtracking: the newest
// torchvision and torchaudio want another torch than the one pinned.
// (Adding "huggingface-hub<0.27" to Requirements makes transformers 4.47
// unusable through tokenizers 0.21: hfpack backjumps at once, while pip 23
// backtracks through unrelated projects for many minutes, so the benchmark
// leaves it out.)
func Stack() []Project {
	torchVersions := list("2.1.2+cu121", "2.2.2+cu121", "2.3.1+cu121", "2.4.0+cu121", "2.4.1+cu121", "2.5.1+cu121")
	tritonFor := map[string]string{"2.1.2+cu121": "2.1.0", "2.2.2+cu121": "2.2.0", "2.3.1+cu121": "2.3.1", "2.4.0+cu121": "3.0.0", "2.4.1+cu121": "3.0.0", "2.5.1+cu121": "3.1.0"}
	torchAt := map[string][]string{}
	for _, v := range torchVersions {
		torchAt[v] = []string{fmt.Sprintf(`triton==%s; platform_system == "Linux" and platform_machine == "x86_64"`, tritonFor[v])}
	}
	visionFor := map[string]string{"0.16.2+cu121": "2.1.2", "0.17.2+cu121": "2.2.2", "0.18.1+cu121": "2.3.1", "0.19.0+cu121": "2.4.0", "0.19.1+cu121": "2.4.1", "0.20.1+cu121": "2.5.1"}
	visionAt := map[string][]string{}
	var visionVersions []string
	for v, tv := range visionFor {
		visionAt[v] = []string{"torch==" + tv}
		visionVersions = append(visionVersions, v)
	}
	slices.Sort(visionVersions)
	audioAt := map[string][]string{}
	var audioVersions []string
	for _, tv := range visionFor {
		av := tv + "+cu121" // torchaudio's versions follow torch's
		audioAt[av] = []string{"torch==" + tv}
		audioVersions = append(audioVersions, av)
	}
	slices.Sort(audioVersions)
	nv := `platform_system == "Linux" and platform_machine == "x86_64"`
	py := func(name string, versions []string, requires ...string) Project {
		return Project{Name: name, Versions: versions, Requires: requires}
	}
	compiled := func(p Project) Project { p.Compiled = true; return p }
	torch := func(p Project) Project { p.Torch, p.Compiled = true, true; return p }

	return []Project{
		// The PyTorch index.
		torch(Project{Name: "torch", Versions: torchVersions, RequiresAt: torchAt, Requires: []string{
			"filelock", "typing-extensions>=4.8.0", "sympy", "networkx", "jinja2", "fsspec",
			"nvidia-cublas-cu12==12.1.3.1; " + nv, "nvidia-cudnn-cu12==9.1.0.70; " + nv, "nvidia-nccl-cu12==2.20.5; " + nv,
		}}),
		torch(Project{Name: "torchvision", Versions: visionVersions, RequiresAt: visionAt, Requires: []string{"numpy", "pillow!=8.3.*,>=5.3.0"}}),
		torch(Project{Name: "torchaudio", Versions: audioVersions, RequiresAt: audioAt}),
		torch(Project{Name: "triton", Versions: list("2.1.0", "2.2.0", "2.3.1", "3.0.0", "3.1.0"), Requires: []string{"filelock"}}),
		torch(Project{Name: "nvidia-cublas-cu12", Versions: list("12.1.0.26", "12.1.3.1", "12.4.5.8")}),
		torch(Project{Name: "nvidia-cudnn-cu12", Versions: list("8.9.2.26", "9.1.0.70", "9.5.1.17"), Requires: []string{"nvidia-cublas-cu12"}}),
		torch(Project{Name: "nvidia-nccl-cu12", Versions: list("2.18.1", "2.20.5", "2.21.5")}),

		// Hugging Face.
		{Name: "transformers", Versions: append(minors(4, 47, 7, 0), "4.48.0rc1"),
			Requires: []string{"filelock", "huggingface-hub<1.0,>=0.23.2", "numpy>=1.17", "packaging>=20.0", "pyyaml>=5.1", "regex!=2019.12.17", "requests", "safetensors>=0.4.1", "tqdm>=4.27"},
			RequiresAt: map[string][]string{
				"4.41.0": {"tokenizers<0.20,>=0.19"}, "4.42.0": {"tokenizers<0.20,>=0.19"}, "4.43.0": {"tokenizers<0.20,>=0.19"},
				"4.44.0": {"tokenizers<0.20,>=0.19"}, "4.45.0": {"tokenizers<0.21,>=0.20"}, "4.46.0": {"tokenizers<0.21,>=0.20"},
				"4.47.0": {"tokenizers<0.22,>=0.21"}, "4.48.0rc1": {"tokenizers<0.22,>=0.21"},
			},
			Extras: map[string][]string{
				"torch":         {"torch", "accelerate>=0.26.0"},
				"sentencepiece": {"sentencepiece!=0.1.92,>=0.1.91", "protobuf"},
				"tf":            {"tensorflow<2.16,>2.9"}, // never requested: tensorflow is not on the index
			}},
		compiled(Project{Name: "tokenizers", Versions: list("0.16.0", "0.17.0", "0.18.0", "0.19.1", "0.20.3", "0.21.0"),
			Requires:   []string{"huggingface-hub<1.0,>=0.16.4"},
			RequiresAt: map[string][]string{"0.21.0": {"huggingface-hub<1.0,>=0.27.0"}}}),
		{Name: "huggingface-hub", Versions: minors(0, 28, 8, 0),
			Requires: []string{"filelock", "fsspec>=2023.5.0", "packaging>=20.9", "pyyaml>=5.1", "requests", "tqdm>=4.42.1", "typing-extensions>=3.7.4.3"}},
		compiled(py("safetensors", list("0.4.1", "0.4.2", "0.4.3", "0.4.4", "0.4.5"))),
		{Name: "accelerate", Versions: minors(1, 2, 6, 0), Requires: []string{"huggingface-hub>=0.21.0", "numpy<3.0.0,>=1.17", "packaging>=20.0", "psutil", "pyyaml", "safetensors>=0.4.3", "torch>=1.10.0"}},
		{Name: "datasets", Versions: minors(3, 2, 6, 0),
			Requires: []string{"filelock", "numpy>=1.17", "pyarrow>=15.0.0", "dill<0.3.9,>=0.3.0", "pandas", "requests>=2.32.2", "tqdm>=4.66.3", "xxhash", "multiprocess<0.70.17", "fsspec[http]<=2024.9.0,>=2023.1.0", "aiohttp", "huggingface-hub>=0.23.0", "packaging", "pyyaml>=5.1"}},
		{Name: "peft", Versions: minors(0, 14, 6, 0), Requires: []string{"numpy>=1.17", "packaging>=20.0", "psutil", "pyyaml", "torch>=1.13.0", "transformers", "tqdm", "accelerate>=0.21.0", "safetensors", "huggingface-hub>=0.25.0"}},
		{Name: "diffusers", Versions: minors(0, 32, 6, 0), Requires: []string{"importlib-metadata", "filelock", "huggingface-hub>=0.23.2", "numpy", "regex!=2019.12.17", "requests", "safetensors>=0.3.1", "pillow"}},
		{Name: "sentence-transformers", Versions: minors(3, 3, 6, 0), Requires: []string{"transformers<5.0.0,>=4.41.0", "tqdm", "torch>=1.11.0", "scikit-learn", "scipy", "huggingface-hub>=0.20.0", "pillow"}},
		{Name: "evaluate", Versions: list("0.4.0", "0.4.1", "0.4.2", "0.4.3"), Requires: []string{"datasets>=2.0.0", "numpy>=1.17", "dill", "pandas", "requests>=2.19.0", "tqdm>=4.62.1", "xxhash", "multiprocess", "fsspec[http]>=2021.05.0", "huggingface-hub>=0.7.0", "packaging"}},
		compiled(py("sentencepiece", list("0.1.99", "0.2.0"))),
		compiled(Project{Name: "protobuf", Versions: list("4.25.3", "4.25.5", "5.28.3", "5.29.1")}),
		{Name: "einops", Versions: list("0.7.0", "0.8.0")},

		// Scientific Python.
		compiled(Project{Name: "numpy", Versions: list("1.24.4", "1.26.4", "2.0.2", "2.1.3", "2.2.0"),
			RequiresPython: map[string]string{"1.24.4": ">=3.8", "1.26.4": ">=3.9", "2.0.2": ">=3.9", "2.1.3": ">=3.10", "2.2.0": ">=3.10"}}),
		compiled(Project{Name: "scipy", Versions: list("1.12.0", "1.13.1", "1.14.1", "1.15.0"), Requires: []string{"numpy<2.3,>=1.23.5"},
			RequiresPython: map[string]string{"1.15.0": ">=3.12"}}), // the newest needs a newer Python than the image's
		compiled(py("scikit-learn", list("1.4.2", "1.5.2", "1.6.0"), "numpy>=1.19.5", "scipy>=1.6.0", "joblib>=1.2.0", "threadpoolctl>=3.1.0")),
		py("joblib", list("1.3.2", "1.4.0", "1.4.2")),
		py("threadpoolctl", list("3.4.0", "3.5.0")),
		compiled(py("pandas", list("2.1.4", "2.2.2", "2.2.3"), `numpy>=1.23.2; python_version == "3.11"`, `numpy>=1.26.0; python_version >= "3.12"`, "python-dateutil>=2.8.2", "pytz>=2020.1", "tzdata>=2022.7")),
		py("python-dateutil", list("2.8.2", "2.9.0"), "six>=1.5"),
		py("pytz", list("2023.4", "2024.1", "2024.2")),
		py("tzdata", list("2024.1", "2024.2")),
		py("six", list("1.16.0", "1.17.0")),
		compiled(Project{Name: "pyarrow", Versions: list("15.0.2", "16.1.0", "17.0.0", "18.0.0", "18.1.0"), Requires: []string{"numpy>=1.16.6"}, Yanked: []string{"18.1.0"}}),
		py("dill", list("0.3.6", "0.3.7", "0.3.8", "0.3.9")),
		py("multiprocess", list("0.70.14", "0.70.15", "0.70.16", "0.70.17"), "dill>=0.3.8"),
		compiled(py("xxhash", list("3.4.1", "3.5.0"))),
		compiled(py("pillow", list("10.3.0", "10.4.0", "11.0.0"))),
		compiled(py("regex", list("2024.5.15", "2024.9.11", "2024.11.6"))),
		compiled(py("psutil", list("5.9.8", "6.0.0", "6.1.0"))),
		compiled(py("pyyaml", list("6.0.1", "6.0.2"))),
		py("sympy", list("1.12", "1.13.1", "1.13.3"), "mpmath<1.4,>=1.1.0"),
		py("mpmath", list("1.3.0")),
		py("networkx", list("3.2.1", "3.3", "3.4.2")),
		py("jinja2", list("3.1.3", "3.1.4"), "markupsafe>=2.0"),
		compiled(py("markupsafe", list("2.1.5", "3.0.2"))),

		// HTTP.
		{Name: "requests", Versions: list("2.31.0", "2.32.2", "2.32.3"), Requires: []string{"charset-normalizer<4,>=2", "idna<4,>=2.5", "urllib3<3,>=1.21.1", "certifi>=2017.4.17"},
			Extras: map[string][]string{"socks": {"PySocks!=1.5.7,>=1.5.6"}}},
		py("urllib3", list("1.26.20", "2.2.2", "2.2.3")),
		py("idna", list("3.7", "3.8", "3.10")),
		compiled(py("charset-normalizer", list("3.3.2", "3.4.0"))),
		py("certifi", list("2024.7.4", "2024.8.30")),
		py("tqdm", list("4.66.4", "4.66.5", "4.67.1"), `colorama; platform_system == "Windows"`),
		py("filelock", list("3.15.4", "3.16.0", "3.16.1")),
		{Name: "fsspec", Versions: list("2023.12.2", "2024.3.1", "2024.6.1", "2024.9.0", "2024.10.0"),
			Extras: map[string][]string{"http": {"aiohttp!=4.0.0a0,!=4.0.0a1"}}},
		py("typing-extensions", list("4.10.0", "4.11.0", "4.12.2")),
		py("packaging", list("23.2", "24.1", "24.2")),
		compiled(py("aiohttp", list("3.9.5", "3.10.10", "3.11.10"), "aiohappyeyeballs>=2.3.0", "aiosignal>=1.1.2", "attrs>=17.3.0", "frozenlist>=1.1.1", "multidict<7.0,>=4.5", "propcache>=0.2.0", "yarl<2.0,>=1.17.0", `async-timeout<6.0,>=4.0; python_version < "3.11"`)),
		py("aiohappyeyeballs", list("2.4.3", "2.4.4")),
		py("aiosignal", list("1.3.1", "1.3.2"), "frozenlist>=1.1.0"),
		py("attrs", list("23.2.0", "24.2.0", "24.3.0")),
		compiled(py("frozenlist", list("1.4.1", "1.5.0"))),
		compiled(py("multidict", list("6.0.5", "6.1.0"))),
		compiled(py("propcache", list("0.2.0", "0.2.1"))),
		compiled(py("yarl", list("1.17.2", "1.18.3"), "idna>=2.0", "multidict>=4.0", "propcache>=0.2.0")),
		py("async-timeout", list("4.0.3", "5.0.1")),

		// Serving.
		{Name: "fastapi", Versions: list("0.110.3", "0.111.1", "0.112.4", "0.113.0", "0.114.2", "0.115.6"), Requires: []string{"starlette<0.42.0,>=0.40.0", "pydantic!=1.8,!=1.8.1,!=2.0.0,!=2.0.1,!=2.1.0,<3.0.0,>=1.7.4", "typing-extensions>=4.8.0"},
			Extras: map[string][]string{"standard": {"uvicorn[standard]>=0.12.0", "jinja2>=2.11.2", "python-multipart>=0.0.7"}}},
		py("starlette", list("0.38.6", "0.39.2", "0.40.0", "0.41.3"), "anyio<5,>=3.4.0"),
		py("pydantic", list("2.8.2", "2.9.2", "2.10.3"), "annotated-types>=0.6.0", "pydantic-core==2.27.1", "typing-extensions>=4.12.2"),
		compiled(py("pydantic-core", list("2.20.1", "2.23.4", "2.27.1"), "typing-extensions!=4.7.0,>=4.6.0")),
		py("annotated-types", list("0.6.0", "0.7.0")),
		py("anyio", list("4.4.0", "4.6.2", "4.7.0"), "idna>=2.8", "sniffio>=1.1", `exceptiongroup>=1.0.2; python_version < "3.11"`, `typing-extensions>=4.5; python_version < "3.13"`),
		py("sniffio", list("1.3.0", "1.3.1")),
		{Name: "uvicorn", Versions: list("0.30.6", "0.31.1", "0.32.1", "0.34.0"), Requires: []string{"click>=7.0", "h11>=0.8", `typing-extensions>=4.0; python_version < "3.11"`},
			Extras: map[string][]string{"standard": {`colorama>=0.4; sys_platform == "win32"`, "httptools>=0.6.3", "python-dotenv>=0.13", "pyyaml>=5.1", `uvloop!=0.15.0,!=0.15.1,>=0.14.0; sys_platform != "win32" and (sys_platform != "cygwin" and platform_python_implementation != "PyPy")`, "watchfiles>=0.13", "websockets>=10.4"}}},
		py("click", list("8.1.7", "8.1.8"), `colorama; platform_system == "Windows"`),
		py("h11", list("0.14.0")),
		compiled(py("httptools", list("0.6.1", "0.6.4"))),
		compiled(py("uvloop", list("0.19.0", "0.20.0", "0.21.0"))),
		compiled(py("watchfiles", list("0.22.0", "0.24.0", "1.0.3"), "anyio>=3.0.0")),
		compiled(py("websockets", list("12.0", "13.1", "14.1"))),
		py("python-dotenv", list("1.0.0", "1.0.1")),
		py("python-multipart", list("0.0.12", "0.0.19", "0.0.20")),
		py("colorama", list("0.4.6")),
		py("exceptiongroup", list("1.2.2")),
		{Name: "importlib-metadata", Versions: list("7.1.0", "8.4.0", "8.5.0"), Requires: []string{"zipp>=3.20", `typing-extensions>=3.6.4; python_version < "3.8"`}},
		py("zipp", list("3.20.2", "3.21.0")),
		py("rich", list("13.7.1", "13.8.1", "13.9.4"), "markdown-it-py>=2.2.0", "pygments<3.0.0,>=2.13.0", `typing-extensions<5.0,>=4.0.0; python_version < "3.11"`),
		py("markdown-it-py", list("3.0.0"), "mdurl~=0.1"),
		py("mdurl", list("0.1.2")),
		py("pygments", list("2.17.2", "2.18.0")),
	}
}

// Requirements is what the benchmark locks: a typical Hugging Face serving
// stack on a CUDA torch.
var Requirements = []string{
	"transformers[torch,sentencepiece]>=4.40",
	"accelerate>=0.30",
	"datasets",
	"peft",
	"diffusers",
	"sentence-transformers",
	"evaluate",
	"torch==2.4.1",
	"torchvision",
	"torchaudio",
	"fastapi[standard]",
	"pydantic>=2",
	"scikit-learn",
	"pandas",
	"rich",
	"einops",
	"protobuf<5",
}

// TorchPackages are the projects the PyTorch-style index serves.
func TorchPackages(stack []Project) []string {
	var out []string
	for _, p := range stack {
		if p.Torch {
			out = append(out, p.Name)
		}
	}
	return out
}

// Serve adds the stack to two indexes: the PyTorch-style one for Torch
// projects, the PyPI-style one for the rest.
func Serve(stack []Project, pypi, torch *indextest.Index) error {
	for _, p := range stack {
		ix := pypi
		if p.Torch {
			ix = torch
		}
		for _, v := range p.Versions {
			spec := indextest.WheelSpec{Name: p.Name, Version: v, RequiresPython: p.RequiresPython[v]}
			spec.RequiresDist = append(append(spec.RequiresDist, p.Requires...), p.RequiresAt[v]...)
			for _, extra := range sortedKeys(p.Extras) {
				spec.ProvidesExtra = append(spec.ProvidesExtra, extra)
				for _, r := range p.Extras[extra] {
					spec.RequiresDist = append(spec.RequiresDist, withExtra(r, extra))
				}
			}
			var opts []indextest.FileOption
			if slices.Contains(p.Yanked, v) {
				opts = append(opts, indextest.Yanked("broken build"))
			}
			tagsFor := []string{"py3-none-any"}
			if p.Compiled {
				tagsFor = []string{"cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64", "cp311-cp311-macosx_11_0_arm64"}
				if p.Torch {
					tagsFor = []string{"cp311-cp311-linux_x86_64", "cp312-cp312-linux_x86_64"}
				}
			}
			for _, tag := range tagsFor {
				spec.Tag = tag
				if _, err := ix.AddWheel(spec, opts...); err != nil {
					return fmt.Errorf("%s %s: %w", p.Name, v, err)
				}
			}
		}
	}
	return nil
}

// withExtra adds `extra == "name"` to a requirement's marker.
func withExtra(req, extra string) string {
	spec, marker, ok := strings.Cut(req, ";")
	if !ok {
		return fmt.Sprintf(`%s; extra == "%s"`, strings.TrimSpace(spec), extra)
	}
	return fmt.Sprintf(`%s; (%s) and extra == "%s"`, strings.TrimSpace(spec), strings.TrimSpace(marker), extra)
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
