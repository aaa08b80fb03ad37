package baseimages

import (
	"regexp"
	"strings"
)

// Package is one locked distribution, as Select needs it.
type Package struct {
	// Name is the distribution name (normalized or not).
	Name string `json:"name"`
	// Version is the locked version, with its local label (2.4.1+cu121).
	Version string `json:"version"`
	// Wheel is the locked wheel's filename; "" for an sdist.
	Wheel string `json:"wheel,omitempty"`
}

// ImageConfig is what is known of an [image] base override's config.
type ImageConfig struct {
	// Env is the image's environment, KEY=VALUE.
	Env []string `json:"env,omitempty"`
	// Labels are the image's labels.
	Labels map[string]string `json:"labels,omitempty"`
	// Detected is what the image's own files say (DetectBase over its
	// layers); nil when they were not read. Labels override it.
	Detected *Detected `json:"detected,omitempty"`
}

// Request is the input of Select: what the lock holds and where it runs.
type Request struct {
	// Packages are the locked packages, in any order.
	Packages []Package `json:"packages"`
	// Python is the lock's target Python, major.minor ("3.11").
	Python string `json:"python"`
	// Accelerator is the Vertex accelerator enum name, or "cpu".
	Accelerator string `json:"accelerator"`
	// AcceleratorCount is the number of GPUs per replica (0 or 1 mean one).
	AcceleratorCount int `json:"accelerator_count,omitempty"`
	// Override is the manifest's [image] base: "REGISTRY/REPO:TAG@sha256:..."
	// or "oci-layout:PATH[@sha256:...]"; "" lets the catalog choose.
	Override string `json:"override,omitempty"`
	// OverrideConfig is the override's image config where known, so its
	// glibc, Python and CUDA can be checked.
	OverrideConfig *ImageConfig `json:"override_config,omitempty"`
	// DriverFloor overrides VertexDriverFloor, e.g. "580.65.06" for nodes
	// known to run R580.
	DriverFloor string `json:"driver_floor,omitempty"`
	// PythonMirror replaces PythonDownloadPrefix in runtime URLs
	// (HFPACK_PYTHON_MIRROR); the sha256 stays enforced.
	PythonMirror string `json:"python_mirror,omitempty"`
	// BaseMirror is the registry host/path that replaces docker.io when
	// bases are pulled (HFPACK_BASE_MIRROR); the digest stays enforced.
	BaseMirror string `json:"base_mirror,omitempty"`
}

var nameSepRE = regexp.MustCompile(`[-_.]+`)

// normalize is the PEP 503 normalized form of a distribution name.
func normalize(name string) string { return nameSepRE.ReplaceAllString(strings.ToLower(name), "-") }

// lookup returns the locked package named name (normalized).
func (r Request) lookup(name string) (Package, bool) {
	for _, p := range r.Packages {
		if normalize(p.Name) == name {
			return p, true
		}
	}
	return Package{}, false
}
