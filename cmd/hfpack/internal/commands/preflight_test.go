package commands

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/hfpack/hfpack/lockfile/indextest"
	"github.com/hfpack/hfpack/lockfile/pylock"
)

// refusalProject is a copy of the example locked against its own index:
// the demo wheel plus the given wheels, the requirements given, on the
// accelerator given, with the catalog's base (no [image] base).
func refusalProject(t *testing.T, accelerator string, reqs []string, wheels ...indextest.WheelSpec) string {
	t.Helper()
	srv := indextest.NewServer()
	t.Cleanup(srv.Close)
	srv.MustAddWheel(indextest.WheelSpec{Name: "hfpack-demo-text", Version: "1.0.0", TopLevel: []string{"demo_text"}})
	for _, w := range wheels {
		srv.MustAddWheel(w)
	}
	path := exampleCopy(t, srv.URL)
	quoted := []string{`"hfpack-demo-text>=1.0"`}
	for _, r := range reqs {
		quoted = append(quoted, `"`+r+`"`)
	}
	editFile(t, path,
		`requirements = ["hfpack-demo-text>=1.0"]`, `requirements = [`+strings.Join(quoted, ", ")+`]`,
		`type = "cpu"`, `type = "`+accelerator+`"`,
		`base = "oci-layout:.hfpack/base"`, ``)
	if code, _, stderr := run(t, "lock", path); code != ExitOK {
		t.Fatalf("hfpack lock: exit %d\n%s", code, stderr)
	}
	return path
}

// editFile replaces old with new (pairs) in the file at path; each old
// string must be there.
func editFile(t *testing.T, path string, pairs ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("%s has no %q", path, pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// clashProject is a copy of the example on a local base holding
// /usr/local/bin/tool and Debian's dist-packages/six.py, locked with a
// wheel "clash" whose data file is f.
func clashProject(f indextest.DataFile) func(t *testing.T) string {
	return func(t *testing.T) string {
		t.Helper()
		srv := indextest.NewServer()
		t.Cleanup(srv.Close)
		srv.MustAddWheel(indextest.WheelSpec{Name: "hfpack-demo-text", Version: "1.0.0", TopLevel: []string{"demo_text"}})
		srv.MustAddWheel(indextest.WheelSpec{Name: "clash", Version: "1.0", Data: []indextest.DataFile{f}})
		path := exampleCopy(t, srv.URL)
		editFile(t, path,
			`requirements = ["hfpack-demo-text>=1.0"]`, `requirements = ["hfpack-demo-text>=1.0", "clash==1.0"]`,
			`base = "oci-layout:.hfpack/base"`, `base = "oci-layout:base"`)
		writeBaseWithFiles(t, filepath.Join(filepath.Dir(path), "base"), map[string][]byte{
			"usr/local/bin/tool":                   []byte("#!/bin/sh\n"),
			"usr/lib/python3/dist-packages/six.py": []byte("# Debian's\n"),
		})
		if code, _, stderr := run(t, "lock", path); code != ExitOK {
			t.Fatalf("hfpack lock: exit %d\n%s", code, stderr)
		}
		return path
	}
}

// writeBaseWithFiles writes a linux/amd64 base labelled with Python 3.11
// at /usr/bin/python3 whose one layer holds files.
func writeBaseWithFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	l, err := crane.Layer(files)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(labelledBase(t), l)
	if err != nil {
		t.Fatal(err)
	}
	writeLayout(t, dir, img)
}

func torchWheel(version string) indextest.WheelSpec {
	return indextest.WheelSpec{Name: "torch", Version: version, Tag: "cp311-cp311-manylinux_2_17_x86_64"}
}

// Every refusal `hfpack build` can make before it writes a byte is made by
// `hfpack check` too, with the same message and exit status 1: check is
// the build's preflight, not a lighter cousin of it.
func TestCheckRefusesWhatBuildRefuses(t *testing.T) {
	t.Setenv("HFPACK_CACHE_DIR", t.TempDir())
	cpu := func(t *testing.T) string { return refusalProject(t, "cpu", nil) }
	gpu := func(accelerator, req string, w indextest.WheelSpec) func(t *testing.T) string {
		return func(t *testing.T) string { return refusalProject(t, accelerator, []string{req}, w) }
	}
	tests := []struct {
		name    string
		project func(t *testing.T) string
		break_  func(t *testing.T, manifest string)
		env     []string
		want    string
	}{
		{name: "invalid manifest", project: cpu, want: "hfpack.toml:", break_: func(t *testing.T, m string) {
			editFile(t, m, `type = "cpu"`, `type = "NVIDIA_TESLA_Q9"`)
		}},
		{name: "base not pinned", project: cpu, want: "image.base", break_: func(t *testing.T, m string) {
			editFile(t, m, `[image]`, "[image]\nbase = \"docker.io/library/debian:bookworm\"")
		}},
		{name: "no lock", project: cpu, want: "pylock.toml does not exist: run hfpack lock", break_: func(t *testing.T, m string) {
			os.Remove(filepath.Join(filepath.Dir(m), pylock.FileName))
		}},
		{name: "stale lock", project: cpu, want: "lock is stale", break_: func(t *testing.T, m string) {
			editFile(t, m, `"hfpack-demo-text>=1.0"`, `"hfpack-demo-text>=1.0,<2"`)
		}},
		{name: "bad SOURCE_DATE_EPOCH", project: cpu, env: []string{"SOURCE_DATE_EPOCH=yesterday"}, want: `SOURCE_DATE_EPOCH="yesterday" is not a number`},
		{name: "model invalid", project: cpu, want: "config.json", break_: func(t *testing.T, m string) {
			os.Remove(filepath.Join(filepath.Dir(m), "model", "config.json"))
		}},
		{name: "model changed since the lock", project: cpu, want: "model changed since the lock: vocab.txt changed", break_: func(t *testing.T, m string) {
			f, err := os.OpenFile(filepath.Join(filepath.Dir(m), "model", "vocab.txt"), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("extra\n")
			f.Close()
		}},
		{name: "model bytes changed, same size", project: cpu, want: "model changed since the lock: vocab.txt changed", break_: func(t *testing.T, m string) {
			// Only the bytes tell: build checks them in the read that makes
			// the layers, and still refuses first, with check's message.
			p := filepath.Join(filepath.Dir(m), "model", "vocab.txt")
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			b[0] ^= 0x20
			os.WriteFile(p, b, 0o644)
		}},
		{name: "handler import not locked", project: cpu, want: `"requests"`, break_: func(t *testing.T, m string) {
			editFile(t, filepath.Join(filepath.Dir(m), "handler.py"), "import json\n", "import json\nimport requests\n")
		}},
		{name: "CPU torch on a GPU", project: gpu("NVIDIA_L4", "torch==2.4.1", torchWheel("2.4.1+cpu")), want: "torch 2.4.1+cpu is a CPU-only build but the accelerator is NVIDIA_L4"},
		{name: "GPU architecture dropped", project: gpu("NVIDIA_TESLA_V100", "torch==2.11.0", torchWheel("2.11.0+cu128")), want: "torch 2.11.0+cu128 has no code for NVIDIA_TESLA_V100"},
		{name: "driver floor", project: gpu("NVIDIA_L4", "torch==2.11.0", torchWheel("2.11.0")), want: "torch 2.11.0 needs CUDA 13.0"},
		{name: "torch unknown to the catalog", project: gpu("NVIDIA_L4", "torch==9.1.0", torchWheel("9.1.0")), want: "torch 9.1.0 is not in hfpack's base image catalog"},
		{name: "unverified runtime from a catalog file", project: gpu("NVIDIA_L4", "torch==2.4.1", torchWheel("2.4.1")), want: "python runtime checksum not verified: catalog ", break_: func(t *testing.T, m string) {
			cat := filepath.Join(filepath.Dir(m), "private-catalog.json")
			os.WriteFile(cat, []byte(`{"runtimes": [{"python": "3.11", "arch": "x86_64", "version": "3.11.99", "url": "https://files.example.com/cpython-3.11.99.tar.gz", "sha256": "`+strings.Repeat("ab", 32)+`", "sha256_verified": false, "glibc": "2.17", "prefix": "/opt/hfpack/python", "source": "an internal mirror"}]}`), 0o644)
			editFile(t, m, `[image]`, "[image]\ncatalog = \"private-catalog.json\"")
		}},
		{name: "bad HFPACK_PYTHON_MIRROR", project: cpu, env: []string{"HFPACK_PYTHON_MIRROR=files.corp.example/pbs"}, want: `HFPACK_PYTHON_MIRROR="files.corp.example/pbs" is not an http(s) URL`},
		{name: "bad HFPACK_BASE_MIRROR", project: cpu, env: []string{"HFPACK_BASE_MIRROR=https://mirror.example/hub"}, want: `HFPACK_BASE_MIRROR="https://mirror.example/hub" is not a registry host/path`},
		{name: "bad HFPACK_CATALOG", project: cpu, env: []string{"HFPACK_CATALOG=/nonexistent/catalog.json"}, want: "HFPACK_CATALOG: reading catalog file"},
		{name: "wheel script replaces a base file", project: clashProject(indextest.DataFile{Scheme: "scripts", WheelFile: indextest.WheelFile{Path: "tool", Data: []byte("#!python\n")}}),
			want: "wheel clash-1.0-py3-none-any.whl: wheel would replace a file of the image: it installs /usr/local/bin/tool, which the base image oci-layout:base"},
		{name: "wheel module replaces a base file", project: clashProject(indextest.DataFile{Scheme: "purelib", WheelFile: indextest.WheelFile{Path: "six.py", Data: []byte("# not the base's\n")}}),
			want: "it installs /usr/lib/python3/dist-packages/six.py, which the base image oci-layout:base"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.project(t)
			if tc.break_ != nil {
				tc.break_(t, m)
			}
			for _, kv := range tc.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			out := filepath.Join(t.TempDir(), "out")
			bcode, _, berr := run(t, "build", m, "--output", "oci:"+out, "--sidecar", filepath.Join(t.TempDir(), "no-sidecar"))
			ccode, _, cerr := run(t, "check", m)
			if bcode != ExitFailure || ccode != ExitFailure {
				t.Fatalf("build exit %d, check exit %d; want 1 and 1\nbuild:\n%s\ncheck:\n%s", bcode, ccode, berr, cerr)
			}
			if !strings.Contains(berr, tc.want) {
				t.Errorf("build's refusal does not say %q:\n%s", tc.want, berr)
			}
			if got, want := errorLines(cerr), errorLines(berr); got != want {
				t.Errorf("check refused with\n%s\nbuild with\n%s", got, want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("build wrote %s before refusing", out)
			}
		})
	}
}

// errorLines is what a command printed, less progress and warning lines.
func errorLines(stderr string) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if strings.HasPrefix(l, "warning: ") || strings.HasPrefix(l, "wheel ") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// With [accelerator] min-driver, vertex-spec --deployed-model prints the
// v1beta1 deployModel body whose machineSpec asks Vertex for nodes with that
// driver, and --gcloud notes how to send it.
func TestVertexSpecMinDriver(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, filepath.Join(repoRoot(t), "examples", "sst2", "model"), filepath.Join(dir, "model"))
	m := filepath.Join(dir, "hfpack.toml")
	os.WriteFile(m, []byte("name = \"llm\"\n[model]\ntask = \"text-classification\"\n[python]\nrequirements = [\"torch==2.11.0\"]\n[accelerator]\ntype = \"NVIDIA_L4\"\ncount = 1\nmin-driver = \"580.65.06\"\n"), 0o644)
	img := "us-central1-docker.pkg.dev/p/r/llm@sha256:" + strings.Repeat("ab", 32)
	code, stdout, stderr := run(t, "vertex-spec", m, "--image", img, "--deployed-model")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var body DeployModelRequest
	if err := json.Unmarshal([]byte(stdout), &body); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	want := MachineSpec{MachineType: "g2-standard-8", AcceleratorType: "NVIDIA_L4", AcceleratorCount: 1, MinGPUDriverVersion: "580.65.06"}
	if got := body.DeployedModel.DedicatedResources.MachineSpec; got != want {
		t.Errorf("machineSpec = %+v, want %+v", got, want)
	}
	if !strings.Contains(stdout, `"minGpuDriverVersion": "580.65.06"`) || !strings.Contains(body.DeployedModel.Model, "/locations/us-central1/models/") {
		t.Errorf("body:\n%s", stdout)
	}
	code, stdout, _ = run(t, "vertex-spec", m, "--image", img, "--gcloud")
	for _, want := range []string{"--accelerator=type=nvidia-l4,count=1", `min-driver = "580.65.06"`, "v1beta1/projects/PROJECT/locations/us-central1/endpoints/ENDPOINT_ID:deployModel", "--deployed-model"} {
		if code != ExitOK || !strings.Contains(stdout, want) {
			t.Errorf("--gcloud output lacks %q:\n%s", want, stdout)
		}
	}
	// Without min-driver there is nothing to note.
	editFile(t, m, "min-driver = \"580.65.06\"\n", "")
	if _, stdout, _ = run(t, "vertex-spec", m, "--image", img, "--gcloud"); strings.Contains(stdout, "minGpuDriverVersion") {
		t.Errorf("--gcloud without min-driver mentions minGpuDriverVersion:\n%s", stdout)
	}
}

// The L4 scenario of issue 13: torch==2.4.1 for an NVIDIA_L4 on the
// catalog's nvidia/cuda base. check passes with no runtime warning, and
// build is not refused: it goes on to download the exact verified runtime
// archive (here from a loopback mirror that has none, so it stops there).
func TestL4TorchOnCatalogBase(t *testing.T) {
	t.Setenv("HFPACK_CACHE_DIR", t.TempDir())
	m := refusalProject(t, "NVIDIA_L4", []string{"torch==2.4.1"}, torchWheel("2.4.1"))
	var asked []string
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.EscapedPath())
		http.NotFound(w, r)
	}))
	defer mirror.Close()
	t.Setenv("HFPACK_PYTHON_MIRROR", mirror.URL+"/pbs")

	code, stdout, stderr := run(t, "check", m)
	if code != ExitOK {
		t.Fatalf("check: exit %d\n%s", code, stderr)
	}
	// The runtime cannot be downloaded, so the wheels' files are not
	// checked against it: check says so, and warns of nothing else.
	skipped := "warning: wheel files not checked against the image's files: downloading the Python runtime " + mirror.URL
	for _, w := range strings.Split(stdout+stderr, "\n") {
		if strings.HasPrefix(w, "warning:") && (strings.Contains(w, "runtime") || strings.Contains(w, "sha256")) && !strings.HasPrefix(w, skipped) {
			t.Errorf("check warns about the runtime: %s", w)
		}
	}
	if !strings.Contains(stdout+stderr, skipped) || !strings.Contains(stdout, "ok  wheels") {
		t.Errorf("check does not say the wheel files were not checked:\n%s%s", stdout, stderr)
	}
	asked = nil
	if !strings.Contains(stdout, "ok  python") || !strings.Contains(stdout, "CPython 3.11.16 runtime at /opt/hfpack/python") || !strings.Contains(stdout, "nvidia/cuda:12.1.1-base-ubuntu22.04") {
		t.Errorf("check output:\n%s", stdout)
	}

	sidecar := filepath.Join(t.TempDir(), "hfpack-sidecar")
	os.WriteFile(sidecar, []byte("stand-in"), 0o755)
	code, _, stderr = run(t, "build", m, "--output", "oci:"+filepath.Join(t.TempDir(), "out"), "--sidecar", sidecar)
	want := "/pbs/20260814/cpython-3.11.16%2B20260814-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz"
	if code != ExitFailure || !strings.Contains(stderr, "downloading the Python runtime "+mirror.URL+want+": 404") {
		t.Errorf("build: exit %d, want it to stop at the runtime download from the mirror:\n%s", code, stderr)
	}
	if len(asked) != 1 || asked[0] != want {
		t.Errorf("the mirror was asked for %q, want [%s]", asked, want)
	}
	if strings.Contains(stderr, "not verified") {
		t.Errorf("build refused the runtime:\n%s", stderr)
	}

	_, stdout, _ = run(t, "bases", m)
	if !strings.Contains(stdout, "mirror:  "+mirror.URL+"/pbs (HFPACK_PYTHON_MIRROR)") {
		t.Errorf("bases does not show the mirror:\n%s", stdout)
	}
}
