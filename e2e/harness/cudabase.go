package harness

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// CUDAStandIn is a GPU-shaped base without Python, assembled from the Debian base: what an
// nvidia/cuda base flavour image looks like to hfpack (CUDA marker files under /usr/local/cuda,
// the NVIDIA_REQUIRE_CUDA and CUDA_VERSION environment, no Python), and a relocatable CPython
// archive in python-build-standalone's layout made from the Debian base's own interpreter.
type CUDAStandIn struct {
	// Image is the CUDA base, one layer, linux/amd64.
	Image v1.Image
	// CUDA is the full toolkit version it claims, e.g. 12.1.1.
	CUDA string
	// Runtime is the install_only_stripped-shaped archive (.tar.gz): python/bin/python3,
	// python/lib/python3.X/...
	Runtime []byte
	// RuntimeSHA256 is the archive's hex sha256.
	RuntimeSHA256 string
	// Python is the interpreter's major.minor, e.g. 3.11; PythonVersion the full version.
	Python, PythonVersion string
}

// cudaMarkers are the files the stand-in puts where an nvidia/cuda base has its toolkit.
func cudaMarkers(cuda string) map[string]string {
	major, minor, _ := strings.Cut(cuda, ".")
	minor, _, _ = strings.Cut(minor, ".")
	dir := "usr/local/cuda-" + major + "." + minor
	return map[string]string{
		dir + "/version.json": fmt.Sprintf(`{"cuda": {"name": "CUDA SDK", "version": %q}}`+"\n", cuda),
		dir + "/targets/x86_64-linux/lib/libcudart.so." + major: "hfpack e2e stand-in for libcudart\n",
	}
}

// sitecustomize makes the stand-in interpreter find PREFIX/lib/pythonX.Y/site-packages as
// upstream CPython (and so python-build-standalone) does; Debian's patched site.py only adds
// dist-packages directories.
const sitecustomize = `import os, site, sys
site.addsitedir(os.path.join(sys.prefix, "lib", "python%d.%d" % sys.version_info[:2], "site-packages"))
`

// NewCUDAStandIn splits the Debian base into the CUDA stand-in (everything but Python) and the
// runtime archive (the interpreter and its standard library under python/).
func NewCUDAStandIn(t testing.TB, debian *BaseImage, cuda string) *CUDAStandIn {
	t.Helper()
	s, err := newCUDAStandIn(debian, cuda)
	if err != nil {
		t.Fatalf("assembling the CUDA stand-in: %v", err)
	}
	return s
}

func newCUDAStandIn(debian *BaseImage, cuda string) (*CUDAStandIn, error) {
	cf, err := debian.Image.ConfigFile()
	if err != nil {
		return nil, err
	}
	py := cf.Config.Labels[LabelPython]
	if py == "" {
		return nil, errors.New("the Debian base has no org.hfpack.python label")
	}
	layers, err := debian.Image.Layers()
	if err != nil || len(layers) != 1 {
		return nil, fmt.Errorf("the Debian base has %d layers (%v), want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()

	s := &CUDAStandIn{CUDA: cuda, Python: py}
	stdlib := "usr/lib/python" + py + "/"
	interp := "usr/bin/python" + py
	var base bytes.Buffer
	bw := tar.NewWriter(&base)
	rt := map[string]runtimeEntry{}
	dropped := map[string]bool{}
	var dpkgStatus []byte
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		name := strings.TrimPrefix(h.Name, "./")
		if name == "var/lib/dpkg/status" {
			if dpkgStatus, err = io.ReadAll(tr); err != nil {
				return nil, err
			}
			h.Size = int64(len(dpkgStatus))
			if err := bw.WriteHeader(h); err != nil {
				return nil, err
			}
			if _, err := bw.Write(dpkgStatus); err != nil {
				return nil, err
			}
			continue
		}
		switch {
		case name == interp:
			body, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			rt["python/bin/python"+py] = runtimeEntry{typ: tar.TypeReg, mode: 0o755, body: body}
			rt["python/bin/python3"] = runtimeEntry{typ: tar.TypeSymlink, link: "python" + py}
		case strings.HasPrefix(name, stdlib+"__pycache__/sitecustomize."), strings.HasPrefix(name, stdlib+"__pycache__/sysconfig."):
			// Compiled unchecked-hash by the harness: the bytecode would run instead of the
			// stand-in's own sitecustomize and upstream-scheme sysconfig.
		case strings.HasPrefix(name, stdlib) && !strings.Contains(name, "/dist-packages/"):
			rel := "python/lib/python" + py + "/" + strings.TrimPrefix(name, stdlib)
			switch h.Typeflag {
			case tar.TypeDir:
				rt[strings.TrimSuffix(rel, "/")] = runtimeEntry{typ: tar.TypeDir, mode: 0o755}
			case tar.TypeReg:
				body, err := io.ReadAll(tr)
				if err != nil {
					return nil, err
				}
				if name == stdlib+"sysconfig.py" {
					// Upstream CPython (and so python-build-standalone) installs with the
					// posix_prefix scheme; Debian's patch picks posix_local (PREFIX/local).
					upstream := bytes.Replace(body, []byte("prefix_scheme = 'posix_local'"), []byte("prefix_scheme = 'posix_prefix'"), -1)
					if bytes.Equal(upstream, body) {
						return nil, errors.New("the Debian base's sysconfig.py does not choose posix_local: update the stand-in")
					}
					body = upstream
				}
				rt[rel] = runtimeEntry{typ: tar.TypeReg, mode: h.Mode & 0o755, body: body}
			case tar.TypeSymlink:
				// Debian links sitecustomize.py to /etc: only links inside the tree travel.
				if !path.IsAbs(h.Linkname) && !strings.HasPrefix(path.Join(path.Dir(name), h.Linkname), "../") {
					rt[rel] = runtimeEntry{typ: tar.TypeSymlink, link: h.Linkname}
				}
			}
		}
		if isPython(name, py) {
			dropped[name] = true
			continue
		}
		if h.Typeflag == tar.TypeLink && dropped[strings.TrimPrefix(h.Linkname, "./")] {
			return nil, fmt.Errorf("%s is a hard link to the dropped %s", name, h.Linkname)
		}
		if err := bw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := io.Copy(bw, tr); err != nil {
			return nil, err
		}
	}
	if _, ok := rt["python/bin/python"+py]; !ok {
		return nil, fmt.Errorf("the Debian base has no /%s", interp)
	}
	rt["python/lib/python"+py+"/sitecustomize.py"] = runtimeEntry{typ: tar.TypeReg, mode: 0o644, body: []byte(sitecustomize)}
	rt["python/lib/python"+py+"/site-packages"] = runtimeEntry{typ: tar.TypeDir, mode: 0o755}
	if err := addCUDAMarkers(bw, cuda); err != nil {
		return nil, err
	}
	if err := bw.Close(); err != nil {
		return nil, err
	}
	if s.Runtime, err = runtimeArchive(rt); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(s.Runtime)
	s.RuntimeSHA256 = hex.EncodeToString(sum[:])
	s.PythonVersion = debianPythonVersion(dpkgStatus, py)
	if s.Image, err = cudaImage(base.Bytes(), cuda); err != nil {
		return nil, err
	}
	return s, nil
}

// isPython reports whether a rootfs path belongs to the Debian Python packages.
func isPython(name, py string) bool {
	for _, p := range []string{"usr/bin/python3", "usr/bin/py3", "usr/bin/pydoc3", "usr/bin/pygettext3", "usr/lib/python3", "usr/share/python3", "usr/local/lib/python3", "etc/python3", "usr/share/doc/python3", "usr/lib/valgrind/python3", "usr/share/binfmts/python3", "usr/share/pixmaps/python3"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return strings.HasPrefix(name, "usr/share/doc/libpython3") || strings.HasPrefix(name, "usr/lib/x86_64-linux-gnu/libpython"+py)
}

func addCUDAMarkers(tw *tar.Writer, cuda string) error {
	markers := cudaMarkers(cuda)
	names := make([]string, 0, len(markers))
	for n := range markers {
		names = append(names, n)
	}
	sort.Strings(names)
	dirs := map[string]bool{"usr": true, "usr/local": true}
	for _, n := range names {
		for d := path.Dir(n); !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var ds []string
	for d := range dirs {
		if d != "usr" && d != "usr/local" {
			ds = append(ds, d)
		}
	}
	sort.Strings(ds)
	for _, d := range ds {
		if err := tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: layerEpoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	major, minor, _ := strings.Cut(cuda, ".")
	minor, _, _ = strings.Cut(minor, ".")
	if err := tw.WriteHeader(&tar.Header{Name: "usr/local/cuda", Typeflag: tar.TypeSymlink, Linkname: "cuda-" + major + "." + minor, ModTime: layerEpoch, Format: tar.FormatPAX}); err != nil {
		return err
	}
	for _, n := range names {
		body := markers[n]
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body)), ModTime: layerEpoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, body); err != nil {
			return err
		}
	}
	return nil
}

// cudaImage is the stand-in's image: the layer and the config an nvidia/cuda base flavour
// image carries (its PATH, LD_LIBRARY_PATH and NVIDIA_* variables), without hfpack's labels.
func cudaImage(layerTar []byte, cuda string) (v1.Image, error) {
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: layerEpoch}, CreatedBy: "hfpack e2e: Debian minbase without Python, CUDA " + cuda + " markers",
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	major, minor, _ := strings.Cut(cuda, ".")
	minor, _, _ = strings.Cut(minor, ".")
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Created = v1.Time{Time: layerEpoch}
	cf.Config.Env = []string{
		"PATH=/usr/local/nvidia/bin:/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"NVARCH=x86_64",
		"NVIDIA_REQUIRE_CUDA=cuda>=" + major + "." + minor + " brand=tesla,driver>=470,driver<471 brand=tesla,driver>=525,driver<526",
		"CUDA_VERSION=" + cuda,
		"LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64",
		"NVIDIA_VISIBLE_DEVICES=all",
		"NVIDIA_DRIVER_CAPABILITIES=compute,utility",
	}
	cf.Config.Labels = map[string]string{"maintainer": "NVIDIA CORPORATION <cudatools@nvidia.com> (hfpack e2e stand-in)"}
	return mutate.ConfigFile(img, cf)
}

type runtimeEntry struct {
	typ  byte
	mode int64
	link string
	body []byte
}

// runtimeArchive writes the entries sorted, with their parent directories, fixed times and
// root ownership, gzip-compressed: the shape of an install_only_stripped archive.
func runtimeArchive(entries map[string]runtimeEntry) ([]byte, error) {
	for n := range entries {
		for d := path.Dir(n); d != "."; d = path.Dir(d) {
			if _, ok := entries[d]; !ok {
				entries[d] = runtimeEntry{typ: tar.TypeDir, mode: 0o755}
			}
		}
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	for _, n := range names {
		e := entries[n]
		h := &tar.Header{Name: n, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, ModTime: layerEpoch, Format: tar.FormatPAX}
		switch e.typ {
		case tar.TypeDir:
			h.Name += "/"
		case tar.TypeReg:
			h.Size = int64(len(e.body))
		case tar.TypeSymlink:
			h.Mode = 0o777
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// debianPythonVersion reads the full version of pythonX.Y-minimal from the dpkg status
// ("3.11.2-6+deb12u6" gives 3.11.2); X.Y.0 when it is not there.
func debianPythonVersion(status []byte, py string) string {
	var pkg string
	for _, line := range strings.Split(string(status), "\n") {
		switch {
		case strings.HasPrefix(line, "Package: "):
			pkg = strings.TrimPrefix(line, "Package: ")
		case strings.HasPrefix(line, "Version: ") && pkg == "python"+py+"-minimal":
			v, _, _ := strings.Cut(strings.TrimPrefix(line, "Version: "), "-")
			return v
		}
	}
	return py + ".0"
}
