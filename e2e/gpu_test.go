package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hfpack/hfpack/e2e/harness"
	"github.com/hfpack/hfpack/lockfile/indextest"
)

// The GPU-shaped stand-ins: torch 2.4.1 as PyPI serves it (the CUDA 12.1 build) with the
// nvidia-* wheels it depends on, which bring the CUDA libraries.
const standInCUDA = "12.1.1"

var gpuWheels = []indextest.WheelSpec{
	{
		Name: "torch", Version: "2.4.1", Tag: "cp311-cp311-manylinux_2_17_x86_64",
		RequiresDist: []string{
			`nvidia-cuda-runtime-cu12==12.1.105; platform_system == "Linux" and platform_machine == "x86_64"`,
			`nvidia-cublas-cu12==12.1.3.1; platform_system == "Linux" and platform_machine == "x86_64"`,
		},
		Files: []indextest.WheelFile{
			{Path: "torch/__init__.py", Data: []byte("__version__ = '2.4.1'\nfrom torch import version\n")},
			{Path: "torch/version.py", Data: []byte("cuda = '12.1'\n")},
			{Path: "torch/lib/libtorch_cuda.so", Data: []byte("stand-in\n")},
		},
	},
	nvidiaWheel("nvidia-cuda-runtime-cu12", "12.1.105", "cuda_runtime", "libcudart.so.12"),
	nvidiaWheel("nvidia-cublas-cu12", "12.1.3.1", "cublas", "libcublas.so.12"),
}

// nvidiaWheel is shaped like NVIDIA's CUDA library wheels: nvidia/<lib>/lib/<so> under a
// shared nvidia/ package.
func nvidiaWheel(name, version, lib, so string) indextest.WheelSpec {
	return indextest.WheelSpec{
		Name: name, Version: version, Tag: "py3-none-manylinux2014_x86_64", TopLevel: []string{"nvidia"},
		Files: []indextest.WheelFile{
			{Path: "nvidia/__init__.py", Data: []byte{}},
			{Path: "nvidia/" + lib + "/__init__.py", Data: []byte{}},
			{Path: "nvidia/" + lib + "/lib/" + so, Data: []byte("stand-in " + so + "\n")},
		},
	}
}

// gpuSetup is the GPU-shaped scenario's stand-ins: the CUDA base in the registry, named by
// digest in a catalog file, and the runtime archive on a loopback mirror.
type gpuSetup struct {
	reg     *harness.Registry
	cuda    *harness.CUDAStandIn
	baseRef string // REG/nvidia/cuda:TAG@sha256:...
	catalog string // the catalog file
	mirror  string // HFPACK_PYTHON_MIRROR
	fetches *atomic.Int32
	env     []string
	p       *project
}

func newGPUSetup(t *testing.T) *gpuSetup {
	t.Helper()
	g := &gpuSetup{reg: harness.StartRegistry(t), fetches: new(atomic.Int32)}
	g.cuda = harness.NewCUDAStandIn(t, harness.Base(t, harness.DefaultBase()), standInCUDA)
	tag := standInCUDA + "-base-debian12"
	d, err := g.cuda.Image.Digest()
	if err != nil {
		t.Fatal(err)
	}
	pushImage(t, g.reg, "nvidia/cuda", tag, g.cuda.Image)
	g.baseRef = g.reg.Addr + "/nvidia/cuda:" + tag + "@" + d.String()

	// The runtime's row names the upstream URL: only the mirror makes it reachable here.
	file := fmt.Sprintf("cpython-%s%%2Be2e-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz", g.cuda.PythonVersion)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.EscapedPath() != "/pbs/e2e/"+file {
			http.NotFound(w, r)
			return
		}
		g.fetches.Add(1)
		w.Write(g.cuda.Runtime)
	}))
	t.Cleanup(srv.Close)
	g.mirror = srv.URL + "/pbs"

	dir := t.TempDir()
	g.catalog = filepath.Join(dir, "catalog.json")
	cat := map[string]any{
		"images": []map[string]any{{
			"repository": g.reg.Addr + "/nvidia/cuda", "tag": tag, "digest": d.String(), "digest_verified": true,
			"cuda": "12.1", "cuda_patch": standInCUDA, "flavour": "base", "os": "debian", "os_version": "12", "glibc": "2.36",
			"source": "hfpack e2e stand-in: Debian minbase without Python, CUDA markers",
		}},
		"runtimes": []map[string]any{{
			"python": g.cuda.Python, "arch": "x86_64", "version": g.cuda.PythonVersion,
			"url":    "https://github.com/astral-sh/python-build-standalone/releases/download/e2e/" + file,
			"sha256": g.cuda.RuntimeSHA256, "sha256_verified": true, "glibc": "2.36", "prefix": "/opt/hfpack/python",
			"source": "hfpack e2e stand-in: the Debian base's CPython in python-build-standalone's layout",
		}},
	}
	b, _ := json.MarshalIndent(cat, "", "  ")
	if err := os.WriteFile(g.catalog, b, 0o644); err != nil {
		t.Fatal(err)
	}
	g.env = []string{"HFPACK_CATALOG=" + g.catalog, "HFPACK_PYTHON_MIRROR=" + g.mirror}

	ix := startIndex(t)
	for _, w := range gpuWheels {
		ix.MustAddWheel(w)
	}
	g.p = newProject(t, ix, "")
	g.p.edit(t, "type", `type = "NVIDIA_L4"`)
	g.p.edit(t, "requirements", `requirements = ["hfpack-demo-text>=1.0", "`+dataPackage+`==0.3.0", "torch==2.4.1"]`)
	return g
}

// TestGPUShaped is a GPU image built and run like the CPU example: a CUDA base without Python
// chosen from a catalog file, the runtime added from a mirror, torch and nvidia-* wheels
// installed, the image run with runc as 1000:1000 on the runtime's interpreter, the driver paths
// on PATH and LD_LIBRARY_PATH; then `hfpack smoke`. Both builders give the same file tree.
func TestGPUShaped(t *testing.T) {
	heavy(t)
	g := newGPUSetup(t)
	p := g.p
	bk := harness.StartBuildKit(t, harness.WithInsecureRegistry(g.reg.Addr))

	mustHfpack(t, p.Dir, g.env, "lock", p.Manifest)
	chk := mustHfpack(t, p.Dir, g.env, "check", p.Manifest)
	if strings.Contains(chk.stdout+chk.stderr, "warning:") {
		t.Errorf("check warned:\n%s%s", chk.stdout, chk.stderr)
	}
	for _, want := range []string{"base " + g.baseRef + ", CUDA 12.1", "CPython " + g.cuda.PythonVersion + " runtime at /opt/hfpack/python"} {
		if !strings.Contains(chk.stdout, want) {
			t.Errorf("check does not say %q:\n%s", want, chk.stdout)
		}
	}
	bases := mustHfpack(t, p.Dir, g.env, "bases", p.Manifest)
	for _, want := range []string{"catalog: " + g.catalog + " (the base's row)", "catalog: " + g.catalog + " (the runtime's row)", "mirror:  " + g.mirror + " (HFPACK_PYTHON_MIRROR)", "nvidia-cuda-runtime-cu12"} {
		if !strings.Contains(bases.stdout, want) {
			t.Errorf("bases does not say %q:\n%s", want, bases.stdout)
		}
	}
	plan := mustHfpack(t, p.Dir, g.env, "build", p.Manifest, "--plan")
	for _, want := range []string{`"catalog": "` + g.catalog + `"`, `"url": "` + g.mirror + `/e2e/cpython-`} {
		if !strings.Contains(plan.stdout, want) {
			t.Errorf("the plan does not record %s:\n%s", want, plan.stdout)
		}
	}

	embFile, bkFile := filepath.Join(p.Dir, "embedded.digest"), filepath.Join(p.Dir, "buildkit.digest")
	mustHfpack(t, p.Dir, g.env, "build", p.Manifest, "--push", g.reg.Ref("gpu", ":e2e"), "--digest-file", embFile)
	mustHfpack(t, p.Dir, g.env, "build", p.Manifest, "--builder", "buildkit", "--buildkit-addr", bk.Addr,
		"--push", g.reg.Ref("gpu-buildkit", ":e2e"), "--digest-file", bkFile)
	if n := g.fetches.Load(); n != 1 {
		t.Errorf("the runtime was downloaded %d times, want once (then cached by sha256)", n)
	}
	ref := readDigestFile(t, embFile, g.reg.Addr+"/gpu@")
	emb := unpackRef(t, ref)
	b := unpackRef(t, readDigestFile(t, bkFile, g.reg.Addr+"/gpu-buildkit@"))
	if diff := cmp.Diff(fileTree(t, filepath.Join(emb.Dir, "rootfs")), fileTree(t, filepath.Join(b.Dir, "rootfs"))); diff != "" {
		t.Errorf("file tree of the BuildKit image (-embedded +buildkit):\n%s", diff)
	}
	if diff := cmp.Diff(emb.Spec.Process, b.Spec.Process); diff != "" {
		t.Errorf("process of the BuildKit image (-embedded +buildkit):\n%s", diff)
	}

	t.Run("image", func(t *testing.T) { checkGPUImage(t, emb) })
	serveGPU(t, emb)
	t.Run("buildkit image serves", func(t *testing.T) { serveGPU(t, b) })
	t.Run("hfpack smoke", func(t *testing.T) { smokeImage(t, p.Dir, ref) })
}

// checkGPUImage checks the unpacked image: its user, its environment for Vertex's mounted
// driver, the added runtime, the CUDA wheels, and no second interpreter.
func checkGPUImage(t *testing.T, b *harness.Bundle) {
	if u := b.Spec.Process.User; u.UID != 1000 || u.GID != 1000 {
		t.Errorf("the image runs as %d:%d, want 1000:1000", u.UID, u.GID)
	}
	env := map[string]string{}
	for _, kv := range b.Spec.Process.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, want := range map[string][]string{
		"PATH":            {"/opt/hfpack/python/bin", "/usr/local/nvidia/bin", "/usr/local/cuda/bin"},
		"LD_LIBRARY_PATH": {"/usr/local/nvidia/lib", "/usr/local/nvidia/lib64"},
	} {
		have := strings.Split(env[k], ":")
		for _, w := range want {
			if !contains(have, w) {
				t.Errorf("%s=%s lacks %s", k, env[k], w)
			}
		}
	}
	// CUDA 12.1 runs natively on the assumed floor (535): NVIDIA_REQUIRE_CUDA stays enforced.
	if env["NVIDIA_VISIBLE_DEVICES"] != "all" || env["CUDA_VERSION"] != standInCUDA || env["NVIDIA_DISABLE_REQUIRE"] != "" {
		t.Errorf("NVIDIA environment: %v", b.Spec.Process.Env)
	}
	root := filepath.Join(b.Dir, "rootfs")
	for _, f := range []string{
		"opt/hfpack/python/bin/python3", "usr/local/cuda/version.json",
		"opt/hfpack/python/lib/python3.11/site-packages/torch/lib/libtorch_cuda.so",
		"opt/hfpack/python/lib/python3.11/site-packages/nvidia/cuda_runtime/lib/libcudart.so.12",
		"opt/hfpack/python/lib/python3.11/site-packages/nvidia/cublas/lib/libcublas.so.12",
	} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("the image lacks /%s: %v", f, err)
		}
	}
	for _, f := range []string{"usr/bin/python3", "usr/lib/python3.11"} {
		if _, err := os.Lstat(filepath.Join(root, f)); err == nil {
			t.Errorf("the image has /%s: the stand-in base has no Python", f)
		}
	}
	raw, err := os.ReadFile(filepath.Join(root, "opt/hfpack/sidecar.json"))
	if err != nil || !strings.Contains(string(raw), `"/opt/hfpack/python/bin/python3"`) {
		t.Errorf("sidecar.json does not start the worker on /opt/hfpack/python/bin/python3 (%v):\n%s", err, raw)
	}
}

// serveGPU serves the bundle as the CPU example is served, then checks inside the running
// container that the worker runs on the added runtime and imports the CUDA wheels from it.
func serveGPU(t *testing.T, b *harness.Bundle) {
	t.Helper()
	serveAndProbe(t, b)
	c := harness.Run(t, b, harness.WithArgs("/opt/hfpack/python/bin/python3", "-c",
		"import sys, torch, nvidia.cuda_runtime; print(sys.prefix, torch.__version__, torch.version.cuda, nvidia.cuda_runtime.__file__)"))
	code, err := c.Wait(t.Context())
	want := "/opt/hfpack/python 2.4.1 12.1 /opt/hfpack/python/lib/python3.11/site-packages/nvidia/cuda_runtime/__init__.py"
	if err != nil || code != 0 || !strings.Contains(c.Output(), want) {
		t.Errorf("python in the image: exit %d (%v), want %q:\n%s", code, err, want, c.Output())
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// pushImage pushes img to repo:tag in the loopback registry.
func pushImage(t *testing.T, r *harness.Registry, repo, tag string, img v1.Image) {
	t.Helper()
	if err := remote.Write(r.Repository(repo).Tag(tag), img, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("pushing %s:%s: %v", repo, tag, err)
	}
}
