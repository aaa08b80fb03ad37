package resolve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hfpack/hfpack/python/pep440"
	"github.com/hfpack/hfpack/python/pep508"
)

var linux311 = pep508.LinuxEnvironment("3.11.10", "x86_64")

func reqs(ss ...string) []pep508.Requirement {
	var out []pep508.Requirement
	for _, s := range ss {
		out = append(out, pep508.MustParseRequirement(s))
	}
	return out
}

// pins renders a result as "name==version" lines, extras in brackets.
func pins(r *Result) []string {
	var out []string
	for _, p := range r.Packages {
		s := p.Name
		if len(p.Extras) > 0 {
			s += "[" + strings.Join(p.Extras, ",") + "]"
		}
		out = append(out, s+"=="+p.Version.String())
	}
	return out
}

func mustResolve(t *testing.T, index memIndex, requirements []string, opts ...Option) *Result {
	t.Helper()
	r, err := Resolve(context.Background(), newProvider(index), reqs(requirements...), linux311, opts...)
	if err != nil {
		t.Fatalf("Resolve(%q): %v", requirements, err)
	}
	return r
}

func mustFail(t *testing.T, index memIndex, requirements []string, opts ...Option) string {
	t.Helper()
	r, err := Resolve(context.Background(), newProvider(index), reqs(requirements...), linux311, opts...)
	if err == nil {
		t.Fatalf("Resolve(%q) = %v, want an error", requirements, pins(r))
	}
	var ns *NoSolutionError
	if !errors.As(err, &ns) || !errors.Is(err, ErrNoSolution) {
		t.Fatalf("Resolve(%q) error = %v, want *NoSolutionError", requirements, err)
	}
	return err.Error()
}

// hfStack is a small Hugging Face-shaped index.
var hfStack = memIndex{
	"transformers": {
		v("4.46.1", "tokenizers<0.21,>=0.20", "huggingface-hub<1.0,>=0.23.2", "numpy>=1.17", "safetensors>=0.4.1",
			`torch; extra == "torch"`, `accelerate>=0.26.0; extra == "torch"`, `sentencepiece<0.3,>=0.1.91; extra == "sentencepiece"`).provides("torch", "sentencepiece"),
		v("4.45.2", "tokenizers<0.21,>=0.20", "huggingface-hub<1.0,>=0.23.2", "numpy>=1.17", "safetensors>=0.4.1",
			`torch; extra == "torch"`).provides("torch"),
		v("4.44.2", "tokenizers<0.20,>=0.19", "huggingface-hub<1.0,>=0.23.2", "numpy>=1.17", "safetensors>=0.4.1"),
	},
	"tokenizers":      {v("0.21.0", "huggingface-hub<1.0,>=0.16.4"), v("0.20.3", "huggingface-hub<1.0,>=0.16.4"), v("0.19.1", "huggingface-hub<1.0,>=0.16.4")},
	"huggingface-hub": {v("0.26.2", "filelock", "pyyaml>=5.1", "tqdm>=4.42.1"), v("0.25.0", "filelock")},
	"numpy": {
		v("2.1.3").python(">=3.10"), v("1.26.4").python(">=3.9"),
	},
	"safetensors": {v("0.4.5")},
	"filelock":    {v("3.16.1")},
	"pyyaml":      {v("6.0.2")},
	"tqdm":        {v("4.67.0", `colorama; platform_system == "Windows"`)},
	"colorama":    {v("0.4.6")},
	"accelerate":  {v("1.1.1", "torch>=1.10.0", "numpy<3.0.0,>=1.17", "psutil")},
	"psutil":      {v("6.1.0")},
	"torch": {
		v("2.5.1+cu121", "filelock", `nvidia-cublas-cu12==12.1.3.1; platform_system == "Linux" and platform_machine == "x86_64"`, `triton==3.1.0; platform_system == "Linux" and platform_machine == "x86_64" and python_version < "3.13"`),
		v("2.4.1+cu121", "filelock"),
	},
	"nvidia-cublas-cu12": {v("12.1.3.1")},
	"triton":             {v("3.1.0", "filelock")},
	"sentencepiece":      {v("0.2.0")},
}

func TestResolveHuggingFaceStack(t *testing.T) {
	r := mustResolve(t, hfStack, []string{"transformers[torch]>=4.45", "torch==2.5.1"})
	want := []string{
		"accelerate==1.1.1", "filelock==3.16.1", "huggingface-hub==0.26.2", "numpy==2.1.3", "nvidia-cublas-cu12==12.1.3.1",
		"psutil==6.1.0", "pyyaml==6.0.2", "safetensors==0.4.5", "tokenizers==0.20.3", "torch==2.5.1+cu121",
		"tqdm==4.67.0", "transformers[torch]==4.46.1", "triton==3.1.0",
	}
	if diff := cmp.Diff(want, pins(r)); diff != "" {
		t.Errorf("pins (-want +got):\n%s", diff)
	}
	for _, p := range r.Packages {
		switch p.Name {
		case "transformers":
			wantDeps := []string{"accelerate", "huggingface-hub", "numpy", "safetensors", "tokenizers", "torch"}
			if diff := cmp.Diff(wantDeps, p.Dependencies); diff != "" {
				t.Errorf("transformers dependencies (-want +got):\n%s", diff)
			}
			if !p.Direct || p.Candidate.Artifact != "transformers-4.46.1.whl" {
				t.Errorf("transformers: Direct = %t, Artifact = %v", p.Direct, p.Candidate.Artifact)
			}
		case "tqdm":
			if len(p.Dependencies) != 0 || p.Direct {
				t.Errorf("tqdm: dependencies %v (colorama is Windows-only), Direct %t", p.Dependencies, p.Direct)
			}
		}
	}
	if len(r.Warnings) != 0 {
		t.Errorf("Warnings = %q", r.Warnings)
	}
}

func TestResolveIsDeterministic(t *testing.T) {
	first := mustResolve(t, hfStack, []string{"transformers[torch,sentencepiece]", "torch"})
	for _, n := range []int{1, 2, 16} {
		again := mustResolve(t, hfStack, []string{"torch", "transformers[sentencepiece,torch]"}, WithConcurrency(n))
		if diff := cmp.Diff(pins(first), pins(again)); diff != "" {
			t.Errorf("concurrency %d changed the result (-first +again):\n%s", n, diff)
		}
	}
}

func TestResolveBacktracksOverSeveralLevels(t *testing.T) {
	index := memIndex{
		"a": {v("3", "b>=2"), v("2", "b<2"), v("1")},
		"b": {v("2", "c"), v("1")},
		"c": {v("2", "d<2"), v("1")},
		"d": {v("2"), v("1")},
		// noise that must not be touched by backtracking
		"e": {v("1.0", "f"), v("0.9")},
		"f": {v("1")},
	}
	r := mustResolve(t, index, []string{"a", "d>=2", "e"})
	if diff := cmp.Diff([]string{"a==3", "b==2", "c==1", "d==2", "e==1.0", "f==1"}, pins(r)); diff != "" {
		t.Errorf("pins (-want +got):\n%s", diff)
	}
	// Without c 1: a 3 -> b 2 -> c 2 -> d<2 fails, so b 1 and a 2.
	index["c"] = index["c"][:1]
	r = mustResolve(t, index, []string{"a", "d>=2", "e"})
	if diff := cmp.Diff([]string{"a==2", "b==1", "d==2", "e==1.0", "f==1"}, pins(r)); diff != "" {
		t.Errorf("pins (-want +got):\n%s", diff)
	}
}

func TestConflictExplanation(t *testing.T) {
	tests := []struct {
		name  string
		index memIndex
		reqs  []string
		want  []string
	}{
		{
			name:  "direct pins",
			index: hfStack,
			reqs:  []string{"transformers==4.46.1", "tokenizers==0.21.0"},
			want:  []string{"transformers 4.46.1 requires tokenizers<0.21,>=0.20, but tokenizers==0.21.0 was requested"},
		},
		{
			name:  "every version of a range",
			index: hfStack,
			reqs:  []string{"transformers>=4.45", "tokenizers>=0.21"},
			want: []string{
				"no version of transformers works (transformers>=4.45 was requested):",
				"  transformers 4.46.1, 4.45.2 require tokenizers<0.21,>=0.20, but tokenizers>=0.21 was requested",
			},
		},
		{
			name: "transitive",
			index: memIndex{
				"app":  {v("1.0", "lib>=2")},
				"lib":  {v("2.1", "core<1"), v("2.0", "core<1"), v("1.0")},
				"core": {v("1.5"), v("0.9")},
			},
			reqs: []string{"app", "core>=1"},
			want: []string{
				"no version of lib works (app 1.0 requires lib>=2):",
				"  lib 2.1, 2.0 require core<1, but core>=1 was requested",
			},
		},
		{
			name: "several levels",
			index: memIndex{
				"a": {v("3", "b>=2"), v("2", "b<2"), v("1", "x")},
				"b": {v("2", "c"), v("1", "y>=2")},
				"c": {v("2", "d<2")},
				"d": {v("2"), v("1")},
				"x": {v("1").excluded(SdistOnly, "")},
				"y": {v("1")},
			},
			reqs: []string{"a", "d>=2"},
			want: []string{
				"no version of a works (a was requested):",
				"  with a 3 (a 3 requires b>=2, b 2 requires c):",
				"    c 2 requires d<2, but d>=2 was requested",
				"  with a 2 (a 2 requires b<2):",
				"    b 1 requires y>=2, but no version of y matches >=2 (available: 1)",
				"  a 1 requires x, but x 1 has only a source distribution (sdist): hfpack installs wheels only, because the image is built " +
					"without compilers or pip; pin a version that has a wheel for the image, or publish a wheel to an index",
			},
		},
		{
			name: "three-way",
			index: memIndex{
				"a": {v("3"), v("2"), v("1")},
				"b": {v("1", "a<3")},
				"c": {v("1", "a!=2")},
			},
			reqs: []string{"a>=2", "b", "c"},
			want: []string{"c 1 requires a!=2 and a>=2 was requested and b 1 requires a<3, but no version of a satisfies all of these (available: 3, 2, 1)"},
		},
		{
			name:  "nothing matches",
			index: hfStack,
			reqs:  []string{"transformers>=5"},
			want:  []string{"transformers>=5 was requested, but no version of transformers matches >=5 (available: 4.46.1, 4.45.2, 4.44.2)"},
		},
		{
			name:  "missing project",
			index: memIndex{"app": {v("1", "ghost>=1")}},
			reqs:  []string{"app"},
			want:  []string{"app 1 requires ghost>=1, but no versions of ghost were found"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := mustFail(t, tt.index, tt.reqs)
			want := "no solution for the requirements:\n" + strings.Join(indentAll(tt.want, "  "), "\n")
			if diff := cmp.Diff(want, msg); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExtras(t *testing.T) {
	index := memIndex{
		"pkg":  {v("1.0", "base", `gpu-lib; extra == "gpu"`, `docs-lib; extra == "docs"`, `pkg[gpu,docs]; extra == "all"`).provides("gpu", "docs", "all")},
		"base": {v("1")}, "gpu-lib": {v("1")}, "docs-lib": {v("1")},
	}
	tests := []struct {
		reqs []string
		want []string
	}{
		{[]string{"pkg"}, []string{"base==1", "pkg==1.0"}},
		{[]string{"pkg[gpu]"}, []string{"base==1", "gpu-lib==1", "pkg[gpu]==1.0"}},
		{[]string{"pkg[GPU]", "pkg[docs]"}, []string{"base==1", "docs-lib==1", "gpu-lib==1", "pkg[docs,gpu]==1.0"}},
		{[]string{"pkg[all]"}, []string{"base==1", "docs-lib==1", "gpu-lib==1", "pkg[all,docs,gpu]==1.0"}},
	}
	for _, tt := range tests {
		r := mustResolve(t, index, tt.reqs)
		if diff := cmp.Diff(tt.want, pins(r)); diff != "" {
			t.Errorf("Resolve(%q) (-want +got):\n%s", tt.reqs, diff)
		}
	}
	r := mustResolve(t, index, []string{"pkg[nonexistent]"})
	if diff := cmp.Diff([]string{`pkg 1.0 does not provide the extra "nonexistent"`}, r.Warnings); diff != "" {
		t.Errorf("Warnings (-want +got):\n%s", diff)
	}
}

// An extra pins its project to the very same version, local label included.
func TestExtraFollowsLocalVersion(t *testing.T) {
	index := memIndex{
		"torch":      {v("2.5.1+cu124", `opt-einsum; extra == "opt-einsum"`).provides("opt-einsum"), v("2.5.1+cu121", `opt-einsum; extra == "opt-einsum"`).provides("opt-einsum")},
		"opt-einsum": {v("3.4.0")},
	}
	r := mustResolve(t, index, []string{"torch[opt-einsum]==2.5.1", "torch==2.5.1+cu121"})
	if diff := cmp.Diff([]string{"opt-einsum==3.4.0", "torch[opt-einsum]==2.5.1+cu121"}, pins(r)); diff != "" {
		t.Errorf("pins (-want +got):\n%s", diff)
	}
}

func TestMarkersForTheTarget(t *testing.T) {
	index := memIndex{
		"app":     {v("1", `pywin32>=300; sys_platform == "win32"`, `uvloop; sys_platform == "linux"`, `appnope; platform_system == "Darwin"`, `old; python_version < "3.9"`)},
		"uvloop":  {v("0.21.0")},
		"pywin32": {v("308").excluded(NoCompatibleWheel, "built for Windows")},
	}
	r := mustResolve(t, index, []string{"app", `exceptiongroup; python_version < "3.11"`})
	if diff := cmp.Diff([]string{"app==1", "uvloop==0.21.0"}, pins(r)); diff != "" {
		t.Errorf("pins (-want +got):\n%s", diff)
	}
	// The same index for an aarch64 Python 3.8 target: markers follow the target.
	env := pep508.LinuxEnvironment("3.8.20", "aarch64")
	index["old"] = []memVersion{v("1")}
	res, err := Resolve(context.Background(), newProvider(index), reqs("app"), env)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"app==1", "old==1", "uvloop==0.21.0"}, pins(res)); diff != "" {
		t.Errorf("pins for 3.8 (-want +got):\n%s", diff)
	}
}

func TestRequiresPython(t *testing.T) {
	index := memIndex{
		"numpy": {v("2.3.0").python(">=3.12"), v("2.2.0").indexPython_(">=3.12"), v("2.1.3").python(">=3.10")},
	}
	r := mustResolve(t, index, []string{"numpy"})
	if diff := cmp.Diff([]string{"numpy==2.1.3"}, pins(r)); diff != "" {
		t.Errorf("pins (-want +got):\n%s", diff)
	}
	msg := mustFail(t, index, []string{"numpy==2.3.0"})
	if want := "numpy==2.3.0 was requested, but numpy 2.3.0 requires Python >=3.12 (its Requires-Python metadata); the image has 3.11.10"; !strings.Contains(msg, want) {
		t.Errorf("error = %q, want it to contain %q", msg, want)
	}
	msg = mustFail(t, index, []string{"numpy==2.2.0"})
	if want := "numpy==2.2.0 was requested, but numpy 2.2.0 requires Python >=3.12; the image has 3.11.10"; !strings.Contains(msg, want) {
		t.Errorf("error = %q, want it to contain %q", msg, want)
	}
}

func TestYanked(t *testing.T) {
	index := memIndex{"lib": {v("2.0").excluded(Yanked, "broken ABI"), v("1.9")}}
	if diff := cmp.Diff([]string{"lib==1.9"}, pins(mustResolve(t, index, []string{"lib"}))); diff != "" {
		t.Errorf("pins (-want +got):\n%s", diff)
	}
	msg := mustFail(t, index, []string{"lib>1.9"})
	if want := "lib>1.9 was requested, but lib 2.0 was yanked (broken ABI); a yanked release is used only when [python] requirements pin it exactly (lib==2.0)"; !strings.Contains(msg, want) {
		t.Errorf("error = %q, want it to contain %q", msg, want)
	}
	// PEP 592: an exact top-level pin selects the yanked release, with a warning.
	for _, pin := range []string{"lib==2.0", "lib===2.0", "lib==2.0.0"} {
		res := mustResolve(t, index, []string{pin})
		if diff := cmp.Diff([]string{"lib==2.0"}, pins(res)); diff != "" {
			t.Errorf("%s: pins (-want +got):\n%s", pin, diff)
		}
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "lib 2.0 is yanked (broken ABI)") {
			t.Errorf("%s: warnings = %q, want the yank reported", pin, res.Warnings)
		}
	}
	// A dependency's pin is not the user's: as uv, it does not select a yanked release.
	index["app"] = []memVersion{v("1", "lib==2.0")}
	mustFail(t, index, []string{"app"})
	mustFail(t, index, []string{"lib==2.*"})
}

func TestPrereleases(t *testing.T) {
	index := memIndex{
		"lib":     {v("2.0rc1"), v("1.9"), v("1.9.1.dev0")},
		"nightly": {v("0.1.dev3"), v("0.1a1")},
		"app":     {v("1", "lib>=2.0rc1")},
	}
	tests := []struct {
		reqs []string
		opts []Option
		want []string
	}{
		{[]string{"lib"}, nil, []string{"lib==1.9"}},
		{[]string{"lib>=1.9.1"}, nil, nil},
		{[]string{"lib>=2.0rc1"}, nil, []string{"lib==2.0rc1"}},
		{[]string{"lib==2.0rc1"}, nil, []string{"lib==2.0rc1"}},
		{[]string{"app"}, nil, []string{"app==1", "lib==2.0rc1"}},
		{[]string{"lib"}, []Option{WithPrereleases(PrereleasesAllow)}, []string{"lib==2.0rc1"}},
		{[]string{"nightly"}, nil, []string{"nightly==0.1a1"}},
		{[]string{"nightly"}, []Option{WithPrereleases(PrereleasesExplicit)}, nil},
	}
	for _, tt := range tests {
		res, err := Resolve(context.Background(), newProvider(index), reqs(tt.reqs...), linux311, tt.opts...)
		if tt.want == nil {
			if err == nil {
				t.Errorf("Resolve(%q) = %v, want an error", tt.reqs, pins(res))
			} else if !strings.Contains(err.Error(), "is a pre-release") {
				t.Errorf("Resolve(%q) error = %v, want it to explain the pre-release rule", tt.reqs, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Resolve(%q): %v", tt.reqs, err)
			continue
		}
		if diff := cmp.Diff(tt.want, pins(res)); diff != "" {
			t.Errorf("Resolve(%q) (-want +got):\n%s", tt.reqs, diff)
		}
	}
}

func TestLocalVersions(t *testing.T) {
	index := memIndex{
		"torch":       {v("2.5.1+cu121"), v("2.4.1+cu121"), v("2.4.1+cu118")},
		"torchvision": {v("0.20.1+cu121", "torch==2.5.1"), v("0.19.1+cu121", "torch==2.4.1")},
	}
	tests := []struct {
		reqs []string
		want []string
	}{
		{[]string{"torch==2.5.1"}, []string{"torch==2.5.1+cu121"}},
		{[]string{"torch==2.4.1+cu118"}, []string{"torch==2.4.1+cu118"}},
		{[]string{"torch<2.5"}, []string{"torch==2.4.1+cu121"}},
		{[]string{"torchvision", "torch<2.5"}, []string{"torch==2.4.1+cu121", "torchvision==0.19.1+cu121"}},
		{[]string{"torch>2.4.1"}, []string{"torch==2.5.1+cu121"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, pins(mustResolve(t, index, tt.reqs))); diff != "" {
			t.Errorf("Resolve(%q) (-want +got):\n%s", tt.reqs, diff)
		}
	}
	mustFail(t, index, []string{"torch>2.4.1", "torch<2.5"})
}

func TestIncompatibleWheels(t *testing.T) {
	index := memIndex{
		"flash-attn": {
			v("2.7.0").excluded(NoCompatibleWheel, "needs glibc 2.39 or newer (manylinux_2_39_x86_64); the image has 2.35"),
			v("2.6.3").excluded(NoCompatibleWheel, "built for CPython 3.12 (cp312); the image has 3.11"),
			v("2.6.0"),
		},
		"mlx": {v("0.20.0").excluded(NoCompatibleWheel, "built for macOS (macosx_14_0_arm64); the image runs Linux")},
	}
	if diff := cmp.Diff([]string{"flash-attn==2.6.0"}, pins(mustResolve(t, index, []string{"flash-attn"}))); diff != "" {
		t.Errorf("pins (-want +got):\n%s", diff)
	}
	msg := mustFail(t, index, []string{"flash-attn>2.6.0"})
	for _, want := range []string{
		"flash-attn>2.6.0 was requested, but flash-attn 2.7.0 has no wheel that fits the image: needs glibc 2.39",
		"flash-attn 2.6.3 has no wheel that fits the image: built for CPython 3.12",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error = %q, want it to contain %q", msg, want)
		}
	}
	msg = mustFail(t, index, []string{"mlx"})
	if want := "mlx 0.20.0 has no wheel that fits the image: built for macOS"; !strings.Contains(msg, want) {
		t.Errorf("error = %q, want it to contain %q", msg, want)
	}
}

// A newer version that cannot be installed is mentioned when older ones
// fail for other reasons.
func TestExplanationMentionsSkippedVersions(t *testing.T) {
	index := memIndex{
		"app":  {v("1", "lib>=1", "core==1")},
		"lib":  {v("3.0").excluded(SdistOnly, ""), v("2.0", "core>=2")},
		"core": {v("2"), v("1")},
	}
	msg := mustFail(t, index, []string{"app"})
	for _, want := range []string{
		"lib 2.0 requires core>=2, but app 1 requires core==1",
		"(and lib 3.0 has only a source distribution (sdist)",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error = %q, want it to contain %q", msg, want)
		}
	}
}

func TestSdistOnly(t *testing.T) {
	index := memIndex{
		"app":    {v("1", "oldpkg>=1")},
		"oldpkg": {v("1.2").excluded(SdistOnly, "")},
	}
	msg := mustFail(t, index, []string{"app"})
	want := "app 1 requires oldpkg>=1, but oldpkg 1.2 has only a source distribution (sdist): hfpack installs wheels only, because the image is built without compilers or pip"
	if !strings.Contains(msg, want) {
		t.Errorf("error = %q, want it to contain %q", msg, want)
	}
}

func TestPreferences(t *testing.T) {
	index := memIndex{
		"a": {v("2.0", "b>=1"), v("1.0", "b>=1")},
		"b": {v("1.5"), v("1.0")},
		"c": {v("3.0"), v("2.0")},
	}
	lock := map[string]pep440.Version{
		"a": pep440.MustParseVersion("1.0"), "B": pep440.MustParseVersion("1.0"), "c": pep440.MustParseVersion("2.0"),
	}
	tests := []struct {
		name string
		reqs []string
		opts []Option
		want []string
	}{
		{"kept", []string{"a", "c"}, []Option{WithPreferences(lock)}, []string{"a==1.0", "b==1.0", "c==2.0"}},
		{"no longer allowed", []string{"a>=2", "c"}, []Option{WithPreferences(lock)}, []string{"a==2.0", "b==1.0", "c==2.0"}},
		{"upgrade all", []string{"a", "c"}, []Option{WithPreferences(lock), WithUpgrade(true)}, []string{"a==2.0", "b==1.5", "c==3.0"}},
		{"upgrade one", []string{"a", "c"}, []Option{WithPreferences(lock), WithUpgradePackages("C")}, []string{"a==1.0", "b==1.0", "c==3.0"}},
		{"no lock", []string{"a", "c"}, nil, []string{"a==2.0", "b==1.5", "c==3.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, pins(mustResolve(t, index, tt.reqs, tt.opts...))); diff != "" {
				t.Errorf("pins (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCycles(t *testing.T) {
	index := memIndex{"a": {v("1", "b")}, "b": {v("1", "a>=1")}}
	if diff := cmp.Diff([]string{"a==1", "b==1"}, pins(mustResolve(t, index, []string{"a"}))); diff != "" {
		t.Errorf("pins (-want +got):\n%s", diff)
	}
}

func TestResolveErrors(t *testing.T) {
	_, err := Resolve(context.Background(), newProvider(hfStack), reqs("pkg @ https://example.com/pkg-1.0-py3-none-any.whl"), linux311)
	if !errors.Is(err, ErrURLRequirement) {
		t.Errorf("URL requirement: error = %v, want ErrURLRequirement", err)
	}
	p := newProvider(hfStack)
	boom := errors.New("connection reset")
	p.fail["tokenizers"] = boom
	_, err = Resolve(context.Background(), p, reqs("transformers"), linux311)
	if !errors.Is(err, boom) || errors.Is(err, ErrNoSolution) || !strings.Contains(err.Error(), "tokenizers") {
		t.Errorf("provider failure: error = %v, want it wrapped with the project name", err)
	}
	_, err = Resolve(context.Background(), newProvider(hfStack), reqs("numpy"), pep508.Environment{})
	if err == nil {
		t.Error("an environment without python_full_version was accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err = Resolve(ctx, newProvider(hfStack), reqs("transformers"), linux311); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: error = %v", err)
	}
	if _, err := Resolve(context.Background(), newProvider(hfStack), nil, linux311, WithConcurrency(0)); err == nil {
		t.Error("WithConcurrency(0) accepted")
	}
}

func TestEmptyRequest(t *testing.T) {
	r := mustResolve(t, hfStack, nil)
	if len(r.Packages) != 0 {
		t.Errorf("Packages = %v, want none", pins(r))
	}
}

// A conflict three levels down must not be rediscovered under every
// version of every ancestor (30 x 30 x 30 tries without learning).
func TestDeepConflictIsNotRepeated(t *testing.T) {
	index := memIndex{"d": {v("2"), v("1")}}
	for i := 30; i >= 1; i-- {
		n := fmt.Sprint(i)
		index["a"] = append(index["a"], v(n, "b"))
		index["b"] = append(index["b"], v(n, "c"))
		index["c"] = append(index["c"], v(n, "d<2"))
	}
	var steps int
	_, err := Resolve(context.Background(), newProvider(index), reqs("d>=2", "a"), linux311, withSteps(&steps))
	if !errors.Is(err, ErrNoSolution) {
		t.Fatalf("error = %v, want no solution", err)
	}
	if steps > 200 {
		t.Errorf("tried %d decisions, want a few per version (<= 200)", steps)
	}
	if !strings.Contains(err.Error(), "c 30, 29, …, 1 (30 versions) require d<2, but d>=2 was requested") {
		t.Errorf("error = %v", err)
	}
}
