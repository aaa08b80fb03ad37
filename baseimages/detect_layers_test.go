package baseimages

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type tarMember struct {
	name, body, link string
	typ              byte
}

func layerTar(t testing.TB, ms ...tarMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		typ := m.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: m.name, Typeflag: typ, Linkname: m.link, Mode: 0o755}
		if typ == tar.TypeReg {
			h.Size = int64(len(m.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(m.body))
	}
	tw.Close()
	return buf.Bytes()
}

const bookwormRelease = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n"

// A Debian rootfs with python3 pushed without labels: its interpreter and
// glibc are read from its layers, later layers adding and deleting.
func TestDetectBaseFromLayers(t *testing.T) {
	l1, err := ScanLayer(bytes.NewReader(layerTar(t,
		tarMember{name: "etc/os-release", body: bookwormRelease},
		tarMember{name: "usr/bin/python3.11", body: "ELF"},
		tarMember{name: "usr/bin/python3", typ: tar.TypeSymlink, link: "python3.11"},
		tarMember{name: "usr/bin/python3.9", body: "ELF"},
		tarMember{name: "usr/lib/python3.11/os.py", body: "#"},
	)))
	if err != nil {
		t.Fatal(err)
	}
	l2, err := ScanLayer(bytes.NewReader(layerTar(t,
		tarMember{name: "./usr/bin/.wh.python3.9"},
		tarMember{name: "usr/local/bin/python3.12", typ: tar.TypeSymlink, link: "/opt/py/bin/python3.12"},
	)))
	if err != nil {
		t.Fatal(err)
	}
	want := LayerFacts{Pythons: []string{"/usr/bin/python3.11", "/usr/bin/python3.9"}, OSRelease: bookwormRelease}
	if diff := cmp.Diff(want, l1); diff != "" {
		t.Errorf("layer 1 facts (-want +got):\n%s", diff)
	}
	d := DetectBase([]LayerFacts{l1, l2})
	if diff := cmp.Diff(map[string]string{"3.11": "/usr/bin/python3.11", "3.12": "/usr/local/bin/python3.12"}, d.Pythons); diff != "" {
		t.Errorf("pythons (-want +got):\n%s", diff)
	}
	if d.OS != "debian" || d.OSVersion != "12" || d.Glibc != "2.36" {
		t.Errorf("os %s %s glibc %s, want debian 12 glibc 2.36", d.OS, d.OSVersion, d.Glibc)
	}
	if !strings.Contains(strings.Join(d.Evidence, "\n"), "/usr/bin/python3.11 in layer 1 of 2") {
		t.Errorf("evidence = %q", d.Evidence)
	}
	// An opaque whiteout of /usr/bin deletes what lower layers put there.
	l3, _ := ScanLayer(bytes.NewReader(layerTar(t, tarMember{name: "usr/bin/.wh..wh..opq"})))
	if d := DetectBase([]LayerFacts{l1, l2, l3}); d.Pythons["3.11"] != "" || d.Pythons["3.12"] == "" {
		t.Errorf("after an opaque /usr/bin: pythons %v", d.Pythons)
	}
	// Old glibc releases name their libc by version.
	l4, _ := ScanLayer(bytes.NewReader(layerTar(t, tarMember{name: "lib/x86_64-linux-gnu/libc-2.31.so", body: "ELF"})))
	if d := DetectBase([]LayerFacts{l4}); d.Glibc != "2.31" {
		t.Errorf("glibc from libc-2.31.so = %q", d.Glibc)
	}
}

// An [image] base whose files hold the target Python is used as it is:
// no second interpreter, and the reasons name the evidence. Labels still
// override what the files say.
func TestOverrideDetectedPython(t *testing.T) {
	l, _ := ScanLayer(bytes.NewReader(layerTar(t,
		tarMember{name: "etc/os-release", body: bookwormRelease},
		tarMember{name: "usr/bin/python3.11", body: "ELF"},
	)))
	det := DetectBase([]LayerFacts{l})
	ref := "registry.example/debian-py:12@sha256:" + strings.Repeat("ab", 32)
	sel, err := Select(nil, Request{Python: "3.11", Accelerator: CPU, Override: ref, OverrideConfig: &ImageConfig{Detected: &det}})
	if err != nil {
		t.Fatal(err)
	}
	if sel.Runtime != nil || !sel.HasPython || sel.PythonPath != "/usr/bin/python3.11" || sel.Base.Glibc != "2.36" {
		t.Errorf("selection: runtime %v, python %s, glibc %s; want the base's own /usr/bin/python3.11 and glibc 2.36", sel.Runtime, sel.PythonPath, sel.Base.Glibc)
	}
	reasons := strings.Join(sel.Reasons, "\n")
	for _, want := range []string{"Python 3.11 at /usr/bin/python3.11 was found in its own files (/usr/bin/python3.11 in layer 1 of 1)", "glibc 2.36 comes from its own files (/etc/os-release in layer 1: debian 12"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("reasons lack %q:\n%s", want, reasons)
		}
	}
	labels := map[string]string{LabelPython: "3.12", LabelGlibc: "2.39"}
	sel, err = Select(nil, Request{Python: "3.11", Accelerator: CPU, Override: ref, OverrideConfig: &ImageConfig{Labels: labels, Detected: &det}})
	if err != nil {
		t.Fatal(err)
	}
	if sel.Runtime == nil || sel.Base.Glibc != "2.39" || !strings.Contains(strings.Join(sel.Reasons, "\n"), "comes from its org.hfpack.python label") {
		t.Errorf("labels did not override: runtime %v glibc %s\n%s", sel.Runtime, sel.Base.Glibc, strings.Join(sel.Reasons, "\n"))
	}
}

func FuzzScanLayer(f *testing.F) {
	f.Add(layerTar(f, tarMember{name: "etc/os-release", body: bookwormRelease}, tarMember{name: "usr/bin/python3.11", body: "x"}))
	f.Add(layerTar(f, tarMember{name: "../../usr/bin/python3.11", body: "x"}, tarMember{name: "/usr/bin/.wh..wh..opq"}))
	f.Add(layerTar(f, tarMember{name: "usr/local/bin/python3.99999999999999999999", typ: tar.TypeSymlink, link: "/"}))
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, b []byte) {
		facts, err := ScanLayer(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, p := range facts.Pythons {
			if !strings.HasPrefix(p, "/") || strings.Contains(p, "..") {
				t.Fatalf("python path %q escapes the root", p)
			}
		}
		if len(facts.OSRelease) > maxOSRelease {
			t.Fatalf("os-release of %d bytes", len(facts.OSRelease))
		}
		DetectBase([]LayerFacts{facts, facts})
	})
}

// Layers made by `tar -C rootfs -c .` begin with an entry for the root
// itself ("./"); it is skipped, not a panic.
func TestScanLayerRootEntry(t *testing.T) {
	f, err := ScanLayer(bytes.NewReader(layerTar(t,
		tarMember{name: "./", typ: tar.TypeDir},
		tarMember{name: "/", typ: tar.TypeDir},
		tarMember{name: "./usr/bin/python3.11", body: "ELF"},
	)))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/usr/bin/python3.11"}; !cmp.Equal(f.Pythons, want) {
		t.Errorf("Pythons = %q, want %q", f.Pythons, want)
	}
}
