package baseimages

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseOverride(t *testing.T) {
	tests := []struct {
		ref     string
		want    Image
		wantErr bool
	}{
		{ref: "ghcr.io/acme/base:1.0@" + testDigest, want: Image{Ref: "ghcr.io/acme/base:1.0@" + testDigest, Repository: "ghcr.io/acme/base", Tag: "1.0", Digest: testDigest}},
		{ref: "localhost:5000/base@" + testDigest, want: Image{Ref: "localhost:5000/base@" + testDigest, Repository: "localhost:5000/base", Digest: testDigest}},
		{ref: "oci-layout:./base", want: Image{Ref: "oci-layout:./base", Repository: "oci-layout:./base"}},
		{ref: "oci-layout:/x@" + testDigest, want: Image{Ref: "oci-layout:/x@" + testDigest, Repository: "oci-layout:/x", Digest: testDigest}},
		{ref: "nvidia/cuda:12.4.1-base-ubuntu22.04", wantErr: true},
		{ref: "nvidia/cuda@sha256:abc", wantErr: true},
		{ref: "oci-layout:", wantErr: true},
		{ref: "@" + testDigest, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := ParseOverride(tt.ref)
			if tt.wantErr {
				var o *OverrideError
				if !errors.As(err, &o) {
					t.Fatalf("ParseOverride(%q) = %v, want OverrideError", tt.ref, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseOverride(%q) (-want +got):\n%s", tt.ref, diff)
			}
		})
	}
}

func TestSelectOverride(t *testing.T) {
	pyImage := "docker.io/library/python:3.11-slim-bookworm@" + testDigest
	tests := []struct {
		name        string
		acc         string
		pkgs        []Package
		ref         string
		cfg         *ImageConfig
		wantErr     any
		wantPython  string
		wantRuntime bool
		wantReasons []string
		wantWarning string
	}{
		{
			name: "python image with config", acc: CPU, ref: pyImage,
			pkgs:       []Package{wheel("numpy", "2.1.0", "cp311-cp311-manylinux_2_17_x86_64")},
			cfg:        &ImageConfig{Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin", "PYTHON_VERSION=3.11.10"}},
			wantPython: "/usr/local/bin/python3.11", wantReasons: []string{"from [image] base", "glibc 2.36 covers"},
		},
		{
			name: "no config: said to be unchecked", acc: CPU, ref: "ghcr.io/acme/base@" + testDigest,
			wantPython: "/opt/hfpack/python/bin/python3", wantRuntime: true,
			wantReasons: []string{"glibc could not be checked", "Python could not be detected"},
		},
		{
			name: "glibc label too old", acc: CPU, ref: "ghcr.io/acme/base:1@" + testDigest,
			pkgs:    []Package{wheel("numpy", "2.1.0", "cp311-cp311-manylinux_2_28_x86_64")},
			cfg:     &ImageConfig{Labels: map[string]string{LabelGlibc: "2.17"}},
			wantErr: &GlibcError{},
		},
		{
			name: "ubuntu tag too old", acc: "NVIDIA_L4", ref: "docker.io/nvidia/cuda:12.6.3-base-ubuntu20.04@" + testDigest,
			pkgs:    append(torchLock(t, "2.7.1"), wheel("tok", "1.0", "cp311-cp311-manylinux_2_34_x86_64")),
			wantErr: &GlibcError{},
		},
		{
			name: "python mismatch adds the runtime", acc: CPU, ref: "docker.io/library/python:3.10-slim@" + testDigest,
			cfg:        &ImageConfig{Env: []string{"PYTHON_VERSION=3.10.15"}},
			wantPython: "/opt/hfpack/python/bin/python3", wantRuntime: true, wantReasons: []string{"the base's Python 3.10 is not the target 3.11"},
		},
		{
			name: "unpinned", acc: CPU, ref: "python:3.11-slim", wantErr: &OverrideError{},
		},
		{
			name: "unknown torch is accepted with an override", acc: "NVIDIA_H100_80GB", ref: "ghcr.io/acme/torch:2.13@" + testDigest,
			pkgs:       []Package{wheel("torch", "2.13.0", "cp311-cp311-manylinux_2_28_x86_64")},
			cfg:        &ImageConfig{Env: []string{"CUDA_VERSION=12.9.1"}, Labels: map[string]string{LabelPython: "3.11", LabelPythonPath: "/opt/py/bin/python3", "org.opencontainers.image.ref.name": "ubuntu", "org.opencontainers.image.version": "24.04"}},
			wantPython: "/opt/py/bin/python3", wantReasons: []string{"CUDA 12.9.1", "glibc 2.39 covers"}, wantWarning: "torch 2.13.0 is not in hfpack's catalog",
		},
		{
			name: "architectures are still checked", acc: "NVIDIA_TESLA_V100", ref: "ghcr.io/acme/torch@" + testDigest,
			pkgs: torchLock(t, "2.11.0+cu128"), wantErr: &ArchError{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := Select(nil, Request{Python: "3.11", Accelerator: tt.acc, Packages: tt.pkgs, Override: tt.ref, OverrideConfig: tt.cfg})
			if a, ok := tt.wantErr.(*ArchError); ok {
				if !errors.As(err, &a) {
					t.Fatalf("Select = %v, want ArchError", err)
				}
				return
			}
			checkErrType(t, err, tt.wantErr)
			if err != nil {
				return
			}
			if !sel.Override || sel.Base.Ref != tt.ref {
				t.Errorf("base = %s (override %v), want %s", sel.Base.Ref, sel.Override, tt.ref)
			}
			if sel.PythonPath != tt.wantPython || (sel.Runtime != nil) != tt.wantRuntime {
				t.Errorf("python = %s (runtime %v), want %s (runtime %v)", sel.PythonPath, sel.Runtime != nil, tt.wantPython, tt.wantRuntime)
			}
			reasons := strings.Join(sel.Reasons, "\n")
			for _, w := range tt.wantReasons {
				if !strings.Contains(reasons, w) {
					t.Errorf("reasons lack %q:\n%s", w, reasons)
				}
			}
			if !strings.Contains(strings.Join(sel.Warnings, "\n"), tt.wantWarning) {
				t.Errorf("warnings %q lack %q", sel.Warnings, tt.wantWarning)
			}
		})
	}
}
