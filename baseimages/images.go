package baseimages

import (
	"fmt"
	"regexp"
	"strings"
)

// Flavours of nvidia/cuda images, smallest first, and of CPU bases.
const (
	// FlavourBase carries libcudart only: right when the wheels bring CUDA.
	FlavourBase = "base"
	// FlavourRuntime carries every CUDA shared library.
	FlavourRuntime = "runtime"
	// FlavourCuDNNRuntime is runtime plus cuDNN.
	FlavourCuDNNRuntime = "cudnn-runtime"
	// FlavourDevel adds the compiler and headers.
	FlavourDevel = "devel"
	// FlavourCPU is a base without CUDA.
	FlavourCPU = "cpu"
)

// flavourRank orders GPU flavours by size; unknown flavours rank last.
func flavourRank(f string) int {
	switch f {
	case FlavourBase:
		return 0
	case FlavourRuntime:
		return 1
	case FlavourCuDNNRuntime:
		return 2
	case FlavourDevel:
		return 3
	}
	return 4
}

// Image is a base image of the catalog, pinned by digest.
type Image struct {
	// Ref is Repository:Tag@Digest, filled in when the catalog loads.
	Ref string `json:"ref,omitempty"`
	// Repository is the image name with its registry, e.g.
	// docker.io/nvidia/cuda.
	Repository string `json:"repository"`
	// Tag is the tag the digest was resolved from.
	Tag string `json:"tag"`
	// Digest is the manifest (index) digest, "sha256:" and 64 hex digits.
	Digest string `json:"digest"`
	// DigestVerified is false while the digest is a placeholder that has not
	// been resolved from the registry (run go generate ./baseimages); such a
	// base fails to pull rather than floating.
	DigestVerified bool `json:"digest_verified"`
	// CUDA is the toolkit version; zero for CPU bases.
	CUDA CUDAVersion `json:"cuda,omitzero"`
	// CUDAPatch is the full toolkit version of the tag, e.g. 12.4.1.
	CUDAPatch string `json:"cuda_patch,omitempty"`
	// CuDNN is the cuDNN major shipped, "" when none.
	CuDNN string `json:"cudnn,omitempty"`
	// Flavour is base, runtime, cudnn-runtime, devel or cpu.
	Flavour string `json:"flavour"`
	// OS and OSVersion name the distribution, e.g. ubuntu 22.04.
	OS        string `json:"os"`
	OSVersion string `json:"os_version"`
	// Glibc is the distribution's glibc, e.g. 2.35.
	Glibc string `json:"glibc"`
	// Python is the major.minor of the image's own Python, "" when none.
	Python string `json:"python,omitempty"`
	// PythonPath is the image's Python interpreter, "" when none.
	PythonPath string `json:"python_path,omitempty"`
	// Source says where the row's facts came from.
	Source string `json:"source"`
	// Catalog is the catalog file the row came from, "" for the shipped
	// catalog. Never stored in catalog files.
	Catalog string `json:"catalog,omitempty"`
	// Mirror is the repository the image is pulled from when
	// HFPACK_BASE_MIRROR maps its registry; the digest is the same. Never
	// stored in catalog files.
	Mirror string `json:"mirror,omitempty"`
}

// IsGPU reports whether the image carries CUDA.
func (im Image) IsGPU() bool { return !im.CUDA.IsZero() }

// ref composes Repository:Tag@Digest.
func (im Image) ref() string { return fmt.Sprintf("%s:%s@%s", im.Repository, im.Tag, im.Digest) }

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// ValidDigest reports whether d is "sha256:" followed by 64 lower-case hex digits.
func ValidDigest(d string) bool { return digestRE.MatchString(d) }

// Architectures of Python runtimes, as python-build-standalone names them.
const (
	ArchX86_64  = "x86_64"
	ArchAarch64 = "aarch64"
)

// PythonDownloadPrefix is where python-build-standalone publishes its
// releases; HFPACK_PYTHON_MIRROR replaces it (as UV_PYTHON_INSTALL_MIRROR
// does for uv).
const PythonDownloadPrefix = "https://github.com/astral-sh/python-build-standalone/releases/download"

// PythonRuntime is a relocatable CPython build (python-build-standalone
// install_only_stripped) unpacked into bases without a matching Python.
type PythonRuntime struct {
	// Python is the major.minor it provides, e.g. 3.11.
	Python string `json:"python"`
	// Arch is the CPU architecture it runs on: x86_64 or aarch64.
	Arch string `json:"arch"`
	// Version is the full CPython version, e.g. 3.11.10.
	Version string `json:"version"`
	// URL is the archive (.tar.gz) to download.
	URL string `json:"url"`
	// SHA256 is the archive's hex digest.
	SHA256 string `json:"sha256"`
	// SHA256Verified is true when SHA256 comes from a published source (the
	// release's SHA256SUMS, uv's download metadata, a catalog file's author);
	// hfpack refuses to download a runtime whose sha256 is not verified.
	SHA256Verified bool `json:"sha256_verified"`
	// Glibc is the oldest glibc the build runs on.
	Glibc string `json:"glibc"`
	// Prefix is where the archive's python/ directory is installed.
	Prefix string `json:"prefix"`
	// Source says where the row's facts came from.
	Source string `json:"source"`
	// Mirror is the HFPACK_PYTHON_MIRROR prefix URL was rewritten to, ""
	// when it is the upstream URL. Never stored in catalog files.
	Mirror string `json:"mirror,omitempty"`
	// Catalog is the catalog file the row came from, "" for the shipped
	// catalog.
	Catalog string `json:"catalog,omitempty"`
}

// Interpreter returns the runtime's python3 path inside the image.
func (r PythonRuntime) Interpreter() string { return r.Prefix + "/bin/python3" }

var hexRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// pythonMinor reduces "3.11.10" or "3.11" to "3.11"; "" when malformed.
func pythonMinor(s string) string {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 {
		return ""
	}
	if _, err := atois(parts[:2]); err != nil {
		return ""
	}
	return parts[0] + "." + parts[1]
}
