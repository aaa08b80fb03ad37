package smoke

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestTools(t *testing.T) {
	tests := []struct {
		name    string
		have    []string
		euid    int
		wantErr []string // substrings; nil means no error
	}{
		{"all there as root", []string{"runc", "skopeo", "umoci"}, 0, nil},
		{"not root", []string{"runc", "skopeo", "umoci"}, 1000, []string{"runc needs root", "sudo"}},
		{"missing tools", []string{"runc"}, 0, []string{"skopeo, umoci not found", "apt-get install skopeo umoci"}},
		{"nothing", nil, 1000, []string{"runc, skopeo, umoci not found", "runc needs root"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookPath = func(file string) (string, error) {
				for _, h := range tt.have {
					if h == file {
						return "/usr/bin/" + file, nil
					}
				}
				return "", exec.ErrNotFound
			}
			geteuid = func() int { return tt.euid }
			t.Cleanup(func() { lookPath, geteuid = exec.LookPath, os.Geteuid })
			_, err := Tools()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Tools: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Tools: %v, want ErrUnavailable", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Tools error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestSource(t *testing.T) {
	tests := []struct {
		image, src string
		insecure   bool
	}{
		{"oci:out/sst2:latest", "oci:out/sst2:latest", false},
		{"docker-archive:img.tar", "docker-archive:img.tar", false},
		{"127.0.0.1:5000/sst2@sha256:" + strings.Repeat("a", 64), "docker://127.0.0.1:5000/sst2@sha256:" + strings.Repeat("a", 64), true},
		{"localhost:5000/sst2:v1", "docker://localhost:5000/sst2:v1", true},
		{"europe-west4-docker.pkg.dev/p/r/sst2:v1", "docker://europe-west4-docker.pkg.dev/p/r/sst2:v1", false},
	}
	for _, tt := range tests {
		src, insecure, err := source(tt.image)
		if err != nil || src != tt.src || insecure != tt.insecure {
			t.Errorf("source(%q) = %q, %v, %v; want %q, %v", tt.image, src, insecure, err, tt.src, tt.insecure)
		}
	}
	if _, _, err := source("UPPER/Case:tag"); err == nil {
		t.Error("source accepted an invalid reference")
	}
}

func TestConfigure(t *testing.T) {
	s := &specs.Spec{
		Process: &specs.Process{Terminal: true, Env: []string{"PATH=/usr/bin", "AIP_HTTP_PORT=8080"}},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
			{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.MountNamespace},
		}},
	}
	configure(s, []string{"AIP_HTTP_PORT=4000", "AIP_HEALTH_ROUTE=/h"})
	want := &specs.Spec{
		Process: &specs.Process{Env: []string{"PATH=/usr/bin", "AIP_HTTP_PORT=4000", "AIP_HEALTH_ROUTE=/h"}},
		Linux:   &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}}},
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("configure (-want +got):\n%s", diff)
	}
}

func TestOCISource(t *testing.T) {
	dir := t.TempDir()
	img, sbom := "sha256:"+strings.Repeat("1", 64), "sha256:"+strings.Repeat("2", 64)
	index := `{"schemaVersion": 2, "manifests": [
		{"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1, "digest": "` + img + `",
		 "annotations": {"org.opencontainers.image.ref.name": "latest"}},
		{"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1, "digest": "` + sbom + `",
		 "artifactType": "application/vnd.cyclonedx+json"}]}`
	if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"oci:" + dir:             "oci:" + dir + ":latest",
		"oci:" + dir + "@" + img: "oci:" + dir + ":latest",
		"oci:" + dir + ":v1":     "oci:" + dir + ":v1",
	} {
		if got, _, err := source(in); err != nil || got != want {
			t.Errorf("source(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"oci:" + dir + "@" + sbom, "oci:" + dir + "@sha256:" + strings.Repeat("3", 64), "oci:" + t.TempDir()} {
		if got, _, err := source(bad); err == nil {
			t.Errorf("source(%q) = %q, want an error", bad, got)
		}
	}
}
