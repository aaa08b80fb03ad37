package tags

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseWheel(t *testing.T) {
	tests := []struct {
		in      string
		name    string
		version string
		build   string
		tags    []string
	}{
		{"distribution-1.0-1-py27-none-any.whl", "distribution", "1.0", "1", []string{"py27-none-any"}},
		{"torch-2.5.1+cu121-cp311-cp311-linux_x86_64.whl", "torch", "2.5.1+cu121", "", []string{"cp311-cp311-linux_x86_64"}},
		{"six-1.16.0-py2.py3-none-any.whl", "six", "1.16.0", "", []string{"py2-none-any", "py3-none-any"}},
		{"Tokenizers-0.20.3-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "tokenizers", "0.20.3", "",
			[]string{"cp39-abi3-manylinux_2_17_x86_64", "cp39-abi3-manylinux2014_x86_64"}},
		{"nvidia_cublas_cu12-12.1.3.1-py3-none-manylinux1_x86_64.whl", "nvidia-cublas-cu12", "12.1.3.1", "", []string{"py3-none-manylinux1_x86_64"}},
		{"foo.bar-1.0-2custom-CP311-CP311-Win_AMD64.whl", "foo-bar", "1.0", "2custom", []string{"cp311-cp311-win_amd64"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			w, err := ParseWheel(tt.in)
			if err != nil {
				t.Fatalf("ParseWheel: %v", err)
			}
			var tags []string
			for _, tag := range w.Tags {
				tags = append(tags, tag.String())
			}
			build := ""
			if w.HasBuild {
				build = strconv.FormatUint(w.BuildNumber, 10) + w.BuildTag
			}
			got := []string{w.Name, w.Version.String(), build}
			if diff := cmp.Diff([]string{tt.name, tt.version, tt.build}, got); diff != "" {
				t.Errorf("name, version, build (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.tags, tags); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseWheelRejects(t *testing.T) {
	for _, in := range []string{
		"foo-1.0-py3-none-any.zip", "foo-1.0-py3-none.whl", "foo-1.0-1-2-py3-none-any.whl", "foo__bar-1.0-py3-none-any.whl",
		"foo-bar-1.0-py3-none-any.whl.whl", "foo-not.a.version-py3-none-any.whl", "foo-1.0-x1-py3-none-any.whl",
		"foo-1.0-py3..py2-none-any.whl", "-1.0-py3-none-any.whl", ".whl", "foo-1.0-py3-none-.whl", "fo o-1.0-py3-none-any.whl",
	} {
		if w, err := ParseWheel(in); err == nil {
			t.Errorf("ParseWheel(%q) = %+v, want error", in, w)
		} else if !errors.Is(err, ErrInvalidWheelName) {
			t.Errorf("ParseWheel(%q) error %v does not wrap ErrInvalidWheelName", in, err)
		}
	}
}

func mustSupported(t *testing.T, tgt Target) *Supported {
	t.Helper()
	s, err := tgt.Supported()
	if err != nil {
		t.Fatalf("%+v.Supported(): %v", tgt, err)
	}
	return s
}

var image = Target{Python: "3.11", Glibc: "2.35", Arch: "x86_64"}

// The order follows packaging.tags.sys_tags() on CPython 3.11, glibc 2.35.
func TestSupportedOrder(t *testing.T) {
	s := mustSupported(t, image)
	var got []string
	for _, tag := range s.Tags() {
		got = append(got, tag.String())
	}
	wantPrefix := []string{
		"cp311-cp311-manylinux_2_35_x86_64",
		"cp311-cp311-manylinux_2_34_x86_64",
	}
	if diff := cmp.Diff(wantPrefix, got[:2]); diff != "" {
		t.Errorf("first tags (-want +got):\n%s", diff)
	}
	index := func(tag string) int {
		for i, g := range got {
			if g == tag {
				return i
			}
		}
		t.Fatalf("tag %s not supported", tag)
		return -1
	}
	ordered := []string{
		"cp311-cp311-manylinux_2_17_x86_64",
		"cp311-cp311-manylinux2014_x86_64",
		"cp311-cp311-manylinux_2_16_x86_64",
		"cp311-cp311-manylinux2010_x86_64",
		"cp311-cp311-manylinux1_x86_64",
		"cp311-cp311-linux_x86_64",
		"cp311-abi3-manylinux_2_35_x86_64",
		"cp311-none-manylinux_2_35_x86_64",
		"cp310-abi3-manylinux_2_35_x86_64",
		"cp39-abi3-manylinux2014_x86_64",
		"cp32-abi3-linux_x86_64",
		"py311-none-manylinux_2_35_x86_64",
		"py3-none-manylinux_2_28_x86_64",
		"py30-none-linux_x86_64",
		"cp311-none-any",
		"py311-none-any",
		"py3-none-any",
		"py30-none-any",
	}
	for i := 1; i < len(ordered); i++ {
		if index(ordered[i-1]) >= index(ordered[i]) {
			t.Errorf("%s ranks after %s", ordered[i-1], ordered[i])
		}
	}
	if last := got[len(got)-1]; last != "py30-none-any" {
		t.Errorf("last tag = %s, want py30-none-any", last)
	}
	for _, g := range got {
		if strings.Contains(g, "musllinux") || strings.Contains(g, "manylinux_2_36") || strings.Contains(g, "cp312") {
			t.Errorf("unexpected tag %s", g)
		}
	}
}

func TestSupportedAarch64HasNoOldManylinux(t *testing.T) {
	s := mustSupported(t, Target{Python: "3.12", Glibc: "2.28", Arch: "aarch64"})
	for _, tag := range []string{"cp312-cp312-manylinux_2_28_aarch64", "cp312-cp312-manylinux2014_aarch64", "py3-none-any"} {
		if _, ok := s.Rank(mustTag(t, tag)); !ok {
			t.Errorf("%s not supported", tag)
		}
	}
	for _, tag := range []string{"cp312-cp312-manylinux2010_aarch64", "cp312-cp312-manylinux_2_28_x86_64"} {
		if _, ok := s.Rank(mustTag(t, tag)); ok {
			t.Errorf("%s supported", tag)
		}
	}
}

func mustTag(t *testing.T, s string) Tag {
	t.Helper()
	tags, err := ParseTag(s)
	if err != nil || len(tags) != 1 {
		t.Fatalf("ParseTag(%q) = %v, %v", s, tags, err)
	}
	return tags[0]
}

func TestCompatibility(t *testing.T) {
	s := mustSupported(t, image)
	tests := []struct {
		wheel string
		fits  bool
		why   string
	}{
		{"torch-2.5.1-cp311-cp311-manylinux_2_28_x86_64.whl", true, ""},
		{"torch-2.5.1+cu121-cp311-cp311-linux_x86_64.whl", true, ""},
		{"tokenizers-0.20.3-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", true, ""},
		{"numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", true, ""},
		{"six-1.16.0-py2.py3-none-any.whl", true, ""},
		{"old-1.0-cp311-cp311-manylinux1_x86_64.whl", true, ""},
		{"torch-2.5.1-cp311-none-macosx_11_0_arm64.whl", false, "built for macOS (macosx_11_0_arm64); the image runs Linux"},
		{"torch-2.5.1-cp311-cp311-win_amd64.whl", false, "built for Windows (win_amd64); the image runs Linux"},
		{"torch-2.5.1-cp312-cp312-manylinux_2_28_x86_64.whl", false, "built for CPython 3.12 (cp312); the image has 3.11"},
		{"x-1.0-cp312-abi3-manylinux_2_28_x86_64.whl", false, "needs CPython 3.12 or newer (cp312-abi3); the image has 3.11"},
		{"x-1.0-cp311-cp311-manylinux_2_39_x86_64.whl", false, "needs glibc 2.39 or newer (manylinux_2_39_x86_64); the image has 2.35"},
		{"x-1.0-cp311-cp311-manylinux_2_28_aarch64.whl", false, "built for aarch64 (manylinux_2_28_aarch64); the image is x86_64"},
		{"x-1.0-cp311-cp311-musllinux_1_2_x86_64.whl", false, "built for musl libc (musllinux_1_2_x86_64); the image uses glibc"},
		{"x-1.0-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl", false, "built for another Python implementation (pp310); the image has CPython"},
		{"x-1.0-cp311-cp311d-manylinux_2_17_x86_64.whl", false, "tag cp311-cp311d-manylinux_2_17_x86_64 does not match CPython 3.11, glibc 2.35, x86_64"},
	}
	for _, tt := range tests {
		t.Run(tt.wheel, func(t *testing.T) {
			w, err := ParseWheel(tt.wheel)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Compatible(w); got != tt.fits {
				t.Errorf("Compatible = %t, want %t", got, tt.fits)
			}
			if got := s.Why(w); got != tt.why {
				t.Errorf("Why = %q, want %q", got, tt.why)
			}
		})
	}
}

func TestBestPrefersSpecificTags(t *testing.T) {
	s := mustSupported(t, image)
	var ws []Wheel
	for _, f := range []string{
		"x-1.0-py3-none-any.whl",
		"x-1.0-cp311-cp311-macosx_11_0_arm64.whl",
		"x-1.0-cp39-abi3-manylinux2014_x86_64.whl",
		"x-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
		"x-1.0-1-cp311-cp311-manylinux_2_17_x86_64.whl",
		"x-1.0-cp311-cp311-manylinux_2_39_x86_64.whl",
	} {
		w, err := ParseWheel(f)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	if got := s.Best(ws); got != 4 {
		t.Errorf("Best = %d (%s), want 4", got, ws[got].Filename)
	}
	if got := s.Best(ws[:3]); got != 2 {
		t.Errorf("Best without cp311 wheels = %d, want 2 (abi3)", got)
	}
	if got := s.Best(ws[1:2]); got != -1 {
		t.Errorf("Best of a macOS wheel = %d, want -1", got)
	}
}

func TestMuslTarget(t *testing.T) {
	s := mustSupported(t, Target{Python: "3.11", Musl: "1.2", Arch: "x86_64"})
	for tag, want := range map[string]bool{
		"cp311-cp311-musllinux_1_2_x86_64": true, "cp311-cp311-musllinux_1_1_x86_64": true,
		"cp311-cp311-musllinux_1_3_x86_64": false, "cp311-cp311-manylinux_2_17_x86_64": false, "py3-none-any": true,
	} {
		if _, ok := s.Rank(mustTag(t, tag)); ok != want {
			t.Errorf("Rank(%s) supported = %t, want %t", tag, ok, want)
		}
	}
}

func TestTargetRejects(t *testing.T) {
	for _, tgt := range []Target{
		{Python: "3", Glibc: "2.35", Arch: "x86_64"},
		{Python: "2.7", Glibc: "2.35", Arch: "x86_64"},
		{Python: "3.11", Arch: "x86_64"},
		{Python: "3.11", Glibc: "2.35", Musl: "1.2", Arch: "x86_64"},
		{Python: "3.11", Glibc: "3.1", Arch: "x86_64"},
		{Python: "3.11", Glibc: "2.35"},
		{Python: "3.11", Glibc: "2.35", Arch: "x86_64", Implementation: "pp"},
	} {
		if _, err := tgt.Supported(); !errors.Is(err, ErrInvalidTarget) {
			t.Errorf("%+v.Supported() error = %v, want ErrInvalidTarget", tgt, err)
		}
	}
}

func TestWhyNone(t *testing.T) {
	s := mustSupported(t, image)
	var ws []Wheel
	for _, f := range []string{
		"x-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
		"x-1.0-cp311-cp311-macosx_11_0_arm64.whl",
		"x-1.0-cp310-cp310-macosx_11_0_arm64.whl",
		"x-1.0-cp311-cp311-win_amd64.whl",
		"x-1.0-cp313-cp313-manylinux_2_17_x86_64.whl",
	} {
		w, err := ParseWheel(f)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	want := "built for macOS (macosx_11_0_arm64); the image runs Linux; built for CPython 3.12 (cp312); the image has 3.11; " +
		"built for Windows (win_amd64); the image runs Linux; and 1 other reasons"
	if got := s.WhyNone(ws); got != want {
		t.Errorf("WhyNone =\n%q, want\n%q", got, want)
	}
	if got := s.WhyNone(append(ws, Wheel{Tags: []Tag{{"py3", "none", "any"}}})); got != "" {
		t.Errorf("WhyNone with a fitting wheel = %q, want empty", got)
	}
}

// testdata/cp311-glibc2.35-x86_64.txt is the output of pip's vendored
// packaging.tags (cpython_tags + compatible_tags) for CPython 3.11 on glibc
// 2.35 x86_64: the order pip ranks wheels in.
func TestSupportedMatchesPackaging(t *testing.T) {
	b, err := os.ReadFile("testdata/cp311-glibc2.35-x86_64.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(b))
	var got []string
	for _, tag := range mustSupported(t, image).Tags() {
		got = append(got, tag.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Tags() (-packaging +got):\n%s", diff)
	}
}
