package baseimages

import (
	"strings"
	"testing"
)

const privateImage = `{"images": [{"repository": "registry.corp.example/cuda/base", "tag": "12.1.1-ubuntu22.04", "digest": "sha256:` + "1111111111111111111111111111111111111111111111111111111111111111" + `", "digest_verified": true, "cuda": "12.1", "cuda_patch": "12.1.1", "flavour": "base", "os": "ubuntu", "os_version": "22.04", "glibc": "2.35", "source": "platform team"}],
 "runtimes": [{"python": "3.11", "arch": "x86_64", "version": "3.11.16", "url": "http://files.corp.example/cpython-3.11.16.tar.gz", "sha256": "` + "2222222222222222222222222222222222222222222222222222222222222222" + `", "sha256_verified": true, "glibc": "2.17", "prefix": "/opt/hfpack/python", "source": "platform team"}]}`

// A catalog file's rows are weighed like the shipped ones and, where they
// fit as well, chosen; bases and the selection say which file they came
// from.
func TestCatalogFileRowsSelected(t *testing.T) {
	extra, err := ParseCatalogFile("corp.json", []byte(privateImage))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := Default().With(extra)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := Select(cat, Request{Python: "3.11", Accelerator: "NVIDIA_L4", Packages: torchLock(t, "2.4.1")})
	if err != nil {
		t.Fatal(err)
	}
	if sel.Base.Repository != "registry.corp.example/cuda/base" || sel.Base.Catalog != "corp.json" {
		t.Errorf("base = %s from %q, want the catalog file's", sel.Base.Ref, sel.Base.Catalog)
	}
	if sel.Runtime == nil || sel.Runtime.URL != "http://files.corp.example/cpython-3.11.16.tar.gz" || sel.Runtime.Catalog != "corp.json" {
		t.Errorf("runtime = %+v, want the catalog file's", sel.Runtime)
	}
	var text strings.Builder
	sel.WriteText(&text)
	for _, want := range []string{"catalog: corp.json (the base's row)", "catalog: corp.json (the runtime's row)"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("bases output lacks %q:\n%s", want, text.String())
		}
	}
	// A lock the private base does not fit (CUDA 12.6) still gets a shipped one.
	sel, err = Select(cat, Request{Python: "3.11", Accelerator: "NVIDIA_L4", Packages: torchLock(t, "2.7.1")})
	if err != nil || sel.Base.Catalog != "" || sel.Runtime.Catalog != "corp.json" {
		t.Errorf("torch 2.7.1: base %s from %q (err %v), want a shipped CUDA 12.6 base", sel.Base.Ref, sel.Base.Catalog, err)
	}
	// The shipped catalog is untouched.
	if len(Default().Images) == len(cat.Images) {
		t.Errorf("With changed the default catalog")
	}
}

func TestCatalogFileRefusals(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not JSON", `{`, "want the format of hfpack bases --json"},
		{"unknown key", `{"imagez": []}`, `unknown field "imagez"`},
		{"trailing data", `{} {}`, "data after the JSON object"},
		{"toolkits", `{"cuda": [{"version": "12.1", "min_driver": "1", "compat_driver": "1", "source": "x"}]}`, "only images and runtimes can be added"},
		{"image by tag", strings.Replace(privateImage, `"digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111"`, `"digest": "latest"`, 1), "images are pinned by digest"},
		{"unverified digest", strings.Replace(privateImage, `"digest_verified": true`, `"digest_verified": false`, 1), `"digest_verified" is false`},
		{"runtime without sha256", strings.Replace(privateImage, "2222222222222222222222222222222222222222222222222222222222222222", "", 1), "runtimes are pinned by sha256"},
		{"runtime over ftp", strings.Replace(privateImage, "http://files", "ftp://files", 1), "is not http(s)"},
		{"row without source", strings.Replace(privateImage, `"source": "platform team"}],`, `"source": ""}],`, 1), "source are required"},
		{"duplicate rows", strings.Replace(privateImage, `"images": [{`, `"images": [{"repository": "registry.corp.example/cuda/base", "tag": "12.1.1-ubuntu22.04", "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111", "digest_verified": true, "cuda": "12.1", "flavour": "base", "os": "ubuntu", "os_version": "22.04", "glibc": "2.35", "source": "x"}, {`, 1), "duplicate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCatalogFile("corp.json", []byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "corp.json") {
				t.Errorf("err = %v, want one naming corp.json and saying %q", err, tc.want)
			}
		})
	}
	extra, err := ParseCatalogFile("corp.json", []byte(strings.NewReplacer(`"cuda": "12.1"`, `"cuda": "12.7"`).Replace(privateImage)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Default().With(extra); err == nil || !strings.Contains(err.Error(), "CUDA 12.7 is not a toolkit hfpack knows") {
		t.Errorf("With(CUDA 12.7) = %v, want a refusal", err)
	}
}

// Mirrors change where the base and the runtime are fetched from, never
// what is fetched: the digest and the sha256 stay.
func TestMirrors(t *testing.T) {
	req := Request{Python: "3.11", Accelerator: "NVIDIA_L4", Packages: torchLock(t, "2.4.1"),
		PythonMirror: "https://files.corp.example/pbs/", BaseMirror: "us-docker.pkg.dev/proj/dockerhub"}
	sel, err := Select(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := Select(nil, Request{Python: "3.11", Accelerator: "NVIDIA_L4", Packages: torchLock(t, "2.4.1")})
	if sel.Base.Mirror != "us-docker.pkg.dev/proj/dockerhub/nvidia/cuda" || sel.Base.Ref != plain.Base.Ref || sel.Base.Digest != plain.Base.Digest {
		t.Errorf("base mirror %q, ref %s; want the same ref and digest pulled from the mirror", sel.Base.Mirror, sel.Base.Ref)
	}
	wantURL := "https://files.corp.example/pbs/20260814/cpython-3.11.16%2B20260814-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz"
	if sel.Runtime.URL != wantURL || sel.Runtime.SHA256 != plain.Runtime.SHA256 || sel.Runtime.Mirror != req.PythonMirror {
		t.Errorf("runtime %s (sha256 %s), want %s with the upstream sha256", sel.Runtime.URL, sel.Runtime.SHA256, wantURL)
	}
	var text strings.Builder
	sel.WriteText(&text)
	for _, want := range []string{"mirror:  us-docker.pkg.dev/proj/dockerhub/nvidia/cuda (HFPACK_BASE_MIRROR)", "mirror:  https://files.corp.example/pbs/ (HFPACK_PYTHON_MIRROR)"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("bases output lacks %q:\n%s", want, text.String())
		}
	}
	for _, tc := range []struct{ repo, want string }{
		{"docker.io/library/debian", "m.example/hub/library/debian"},
		{"debian", "m.example/hub/library/debian"},
		{"index.docker.io/nvidia/cuda", "m.example/hub/nvidia/cuda"},
		{"nvcr.io/nvidia/cuda", "nvcr.io/nvidia/cuda"},
		{"oci-layout:/x", "oci-layout:/x"},
	} {
		if got, _ := MirrorRepository(tc.repo, "m.example/hub/"); got != tc.want {
			t.Errorf("MirrorRepository(%s) = %s, want %s", tc.repo, got, tc.want)
		}
	}
	for _, bad := range []string{"https://m.example/hub", "UPPER/x", ""} {
		if CheckBaseMirror(bad) == nil {
			t.Errorf("CheckBaseMirror(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"files.corp.example/pbs", "ftp://x/y", "https://"} {
		if CheckPythonMirror(bad) == nil {
			t.Errorf("CheckPythonMirror(%q) accepted", bad)
		}
	}
}

func FuzzParseCatalogFile(f *testing.F) {
	f.Add([]byte(privateImage))
	f.Add([]byte(`{"images": null, "runtimes": [{}]}`))
	f.Add([]byte(`{"runtimes": [{"python": "3", "arch": "x86_64", "version": "3", "url": "http://", "sha256": "00", "prefix": "/"}]}`))
	f.Add([]byte(`{"images": [{"repository": "A/B", "tag": "", "digest": "sha256:", "cuda": "99.99"}]}`))
	f.Add([]byte("\x00\xff{"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCatalogFile("f.json", b)
		if err != nil {
			return
		}
		for _, im := range c.Images {
			if !ValidDigest(im.Digest) || im.Catalog != "f.json" {
				t.Fatalf("accepted image %+v", im)
			}
		}
		for _, r := range c.Runtimes {
			if !hexRE.MatchString(r.SHA256) || r.Catalog != "f.json" {
				t.Fatalf("accepted runtime %+v", r)
			}
		}
		Default().With(c) // must not panic
	})
}
