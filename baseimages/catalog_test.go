package baseimages

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultCatalogIntegrity(t *testing.T) {
	c := Default()
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	for _, im := range c.Images {
		if !ValidDigest(im.Digest) || !strings.HasSuffix(im.Ref, "@"+im.Digest) {
			t.Errorf("image %s is not pinned by a sha256 digest", im.Ref)
		}
	}
	for _, r := range c.Torch {
		for _, v := range r.Variants {
			if _, ok := c.Toolkit(v.CUDA); !ok {
				t.Errorf("torch %s+%s: CUDA %s has no toolkit row", r.Release, v.CUDA.Tag(), v.CUDA)
			}
		}
	}
	// The catalog covers torch 2.1 to 2.12 and every accelerator the facts list.
	var releases []string
	for _, r := range c.Torch {
		releases = append(releases, r.Release)
	}
	if diff := cmp.Diff([]string{"2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "2.10", "2.11", "2.12"}, releases); diff != "" {
		t.Errorf("torch releases (-want +got):\n%s", diff)
	}
	if got := len(c.Accelerators); got != 14 {
		t.Errorf("%d accelerators, want the 14 Vertex GPU types", got)
	}
	if _, ok := c.Toolkit(CUDAVersion{12, 2}); !ok || compareDrivers(VertexDriverFloor, "535") < 0 {
		t.Errorf("VertexDriverFloor %s is not an R535+ driver", VertexDriverFloor)
	}
}

// The data files are exactly what DataFiles renders (sorted, one row per
// line), so a cmd/refresh run shows only changed data in its diff.
func TestDataFilesCanonical(t *testing.T) {
	c, err := Load(dataFS)
	if err != nil {
		t.Fatal(err)
	}
	files, err := c.DataFiles()
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(dataFS, "data/*.json")
	if len(names) != len(files) {
		t.Errorf("data has %d files, DataFiles renders %d", len(names), len(files))
	}
	for _, name := range names {
		b, _ := fs.ReadFile(dataFS, name)
		if diff := cmp.Diff(string(files[strings.TrimPrefix(name, "data/")]), string(b)); diff != "" {
			t.Errorf("%s is not canonical (-DataFiles +file):\n%s", name, diff)
		}
	}
}

func TestAcceleratorNames(t *testing.T) {
	names := AcceleratorNames()
	if !slices.IsSorted(names) || !slices.Contains(names, CPU) || !slices.Contains(names, "NVIDIA_H100_80GB") {
		t.Errorf("AcceleratorNames() = %v, want sorted names with cpu", names)
	}
	for _, n := range names {
		a, ok := LookupAccelerator(n)
		if !ok || a.Name != n {
			t.Errorf("LookupAccelerator(%q) = %v, %v", n, a, ok)
		}
		if a.IsGPU() != (n != CPU) || (a.IsGPU() && a.ComputeCapability.IsZero()) {
			t.Errorf("LookupAccelerator(%q) = %+v: GPU without a compute capability", n, a)
		}
	}
	if _, ok := LookupAccelerator("NVIDIA_TESLA_X1"); ok {
		t.Error("LookupAccelerator(NVIDIA_TESLA_X1) found an unknown accelerator")
	}
	if k80, _ := LookupAccelerator("NVIDIA_TESLA_K80"); !k80.Retired {
		t.Error("K80 is not marked retired")
	}
}

// Check catches each kind of broken data.
func TestCheckRejects(t *testing.T) {
	base := map[string]string{}
	names, _ := fs.Glob(dataFS, "data/*.json")
	for _, n := range names {
		b, _ := fs.ReadFile(dataFS, n)
		base[n] = string(b)
	}
	tests := []struct {
		name, file, old, new, want string
	}{
		{"short digest", "data/images.json", `"sha256:133c78a0575303be34164d0b90137a042172bdf60696af01a3c424ab402d86e2"`, `"sha256:133c78"`, "is not sha256:<64 hex>"},
		{"tag digest", "data/images.json", `"sha256:133c78a0575303be34164d0b90137a042172bdf60696af01a3c424ab402d86e2"`, `""`, "is not sha256:<64 hex>"},
		{"unsorted images", "data/images.json", `"tag": "11.8.0-base-ubuntu22.04"`, `"tag": "99.8.0-base-ubuntu22.04"`, "sorts before"},
		{"duplicate accelerator", "data/accelerators.json", `"name": "NVIDIA_B200"`, `"name": "NVIDIA_A100_80GB"`, "duplicate NVIDIA_A100_80GB"},
		{"accelerator without capability", "data/accelerators.json", `"compute_capability": "8.9"`, `"compute_capability": ""`, "no compute capability"},
		{"variant on an unknown CUDA", "data/torch.json", `{"cuda": "12.9"`, `{"cuda": "12.7"`, "CUDA 12.7 has no toolkit row"},
		{"PyPI default not a variant", "data/torch.json", `"pypi_default": "12.1"`, `"pypi_default": "12.4"`, "is not one of its variants"},
		{"runtime without sha256", "data/runtimes.json", `"sha256": "`, `"sha256": "x`, "incomplete row"},
		{"unknown field", "data/cuda.json", `"min_driver"`, `"min_drivr"`, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for n, b := range base {
				fsys[n] = &fstest.MapFile{Data: []byte(b)}
			}
			if !strings.Contains(base[tt.file], tt.old) {
				t.Fatalf("%s lacks %s", tt.file, tt.old)
			}
			fsys[tt.file] = &fstest.MapFile{Data: []byte(strings.Replace(base[tt.file], tt.old, tt.new, 1))}
			_, err := Load(fsys)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestVariantRuns(t *testing.T) {
	cc := func(s string) ComputeCapability { c, _ := ParseComputeCapability(s); return c }
	v := TorchVariant{Archs: []ComputeCapability{cc("6.0"), cc("8.6"), cc("9.0")}}
	ptx := TorchVariant{Archs: []ComputeCapability{cc("7.5"), cc("12.0")}, PTX: true}
	tests := []struct {
		v    TorchVariant
		cc   string
		want bool
	}{
		{v, "6.1", true},  // sm_60 cubin runs on 6.1
		{v, "8.9", true},  // sm_86 runs on Ada
		{v, "7.0", false}, // no 7.x cubin
		{v, "10.0", false},
		{ptx, "12.1", true}, // same major
		{ptx, "13.0", true}, // PTX JIT forward
		{ptx, "10.0", false},
	}
	for _, tt := range tests {
		if got := tt.v.Runs(cc(tt.cc)); got != tt.want {
			t.Errorf("%s.Runs(%s) = %v, want %v", tt.v.ArchList(), tt.cc, got, tt.want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := Default().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"NVIDIA_H200_141GB", "retired",
		"2.11   default  cu130  sm_75 sm_80 sm_86 sm_90 sm_100 sm_120 +PTX",
		"docker.io/nvidia/cuda:12.8.1-base-ubuntu24.04", "13.0  580.65.06", "refused",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("WriteTable lacks %q:\n%s", want, out)
		}
	}
}

// The JSON names are a contract with `hfpack bases --json` users.
func TestSelectionJSONFields(t *testing.T) {
	sel, err := Select(nil, Request{Python: "3.11", Accelerator: "NVIDIA_L4", Packages: torchLock(t, "2.7.1")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(sel)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	json.Unmarshal(b, &m)
	var base map[string]any
	json.Unmarshal(m["base"], &base)
	got := append(sortedKeys(m), sortedKeys(base)...)
	want := []string{"accelerator", "base", "cuda", "env", "has_python", "python", "python_path", "reasons", "runtime", "warnings",
		"cuda", "cuda_patch", "digest", "digest_verified", "flavour", "glibc", "os", "os_version", "ref", "repository", "source", "tag"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON fields (-want +got):\n%s", diff)
	}
	var c Catalog
	var buf bytes.Buffer
	Default().WriteJSON(&buf)
	if err := json.Unmarshal(buf.Bytes(), &c); err != nil || len(c.Images) != len(Default().Images) {
		t.Errorf("catalog JSON does not round-trip: %v", err)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

// Every torch build of the catalog selects a base-flavour image of its own
// CUDA version on some GPU it runs on, given a driver new enough for it.
func TestEveryTorchVariantSelectable(t *testing.T) {
	c := Default()
	for _, r := range c.Torch {
		for _, v := range r.Variants {
			pin := r.Release + ".0+" + v.CUDA.Tag()
			t.Run(pin, func(t *testing.T) {
				i := slices.IndexFunc(c.Accelerators, func(a Accelerator) bool {
					return !a.Retired && a.OCIPlatform() == PlatformAMD64 && v.Runs(a.ComputeCapability)
				})
				if i < 0 {
					t.Fatalf("no Vertex accelerator runs torch %s (%s)", pin, v.ArchList())
				}
				sel, err := Select(c, Request{Python: "3.11", Accelerator: c.Accelerators[i].Name, Packages: torchLock(t, pin), DriverFloor: "999"})
				if err != nil {
					t.Fatal(err)
				}
				if sel.Base.CUDA != v.CUDA || sel.Base.Flavour != FlavourBase {
					t.Errorf("torch %s on %s: base %s (CUDA %s, %s), want a CUDA %s base flavour", pin, c.Accelerators[i].Name, sel.Base.Ref, sel.Base.CUDA, sel.Base.Flavour, v.CUDA)
				}
			})
		}
	}
}

// Every supported Python has a verified python-build-standalone runtime for
// both architectures, so a base without Python never blocks a build.
func TestRuntimesVerified(t *testing.T) {
	c := Default()
	for _, py := range []string{"3.9", "3.10", "3.11", "3.12", "3.13", "3.14"} {
		for _, arch := range []string{ArchX86_64, ArchAarch64} {
			rt, ok := c.Runtime(py, arch)
			if !ok {
				t.Errorf("no Python %s runtime for %s", py, arch)
				continue
			}
			if !rt.SHA256Verified || !strings.HasPrefix(rt.URL, PythonDownloadPrefix+"/") || !strings.Contains(rt.URL, "-"+arch+"-unknown-linux-gnu-install_only_stripped.tar.gz") {
				t.Errorf("Python %s %s runtime: %+v, want a verified install_only_stripped archive", py, arch, rt)
			}
		}
	}
}

// A runtime row whose sha256 no source vouches for refuses the selection,
// naming the catalog and the fix, instead of warning and failing later.
func TestSelectRefusesUnverifiedRuntime(t *testing.T) {
	c, err := Load(dataFS)
	if err != nil {
		t.Fatal(err)
	}
	for i := range c.Runtimes {
		c.Runtimes[i].SHA256Verified = false
		c.Runtimes[i].Catalog = "private.json"
	}
	_, err = Select(c, Request{Python: "3.11", Accelerator: "NVIDIA_L4", Packages: torchLock(t, "2.7.1")})
	var ue *UnverifiedRuntimeError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "catalog private.json has no verified sha256") {
		t.Errorf("err = %v, want an UnverifiedRuntimeError naming private.json", err)
	}
}
