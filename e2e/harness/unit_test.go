package harness

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestMirrorIn(t *testing.T) {
	for _, tc := range []struct {
		name, sources, want string
	}{
		{"one-line", "deb http://mirror.example/debian bookworm main\n", "http://mirror.example/debian"},
		{"one-line other suite", "deb http://mirror.example/debian trixie main\n", ""},
		{"one-line with options", "deb [arch=amd64] http://mirror.example/debian bookworm main\n", ""},
		{"deb822", "Types: deb\nURIs: http://deb.debian.org/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n", "http://deb.debian.org/debian"},
		{"deb822 security only", "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n", ""},
		{"deb822 second stanza", "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\n\nTypes: deb\nURIs: http://m.example/debian\nSuites: bookworm\n", "http://m.example/debian"},
		{"not debian", "deb https://packages.cloud.google.com/apt bookworm main\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mirrorIn(tc.sources, "bookworm"); got != tc.want {
				t.Errorf("mirrorIn(%q) = %q, want %q", tc.sources, got, tc.want)
			}
		})
	}
}

func TestUpstreamMajorMinor(t *testing.T) {
	for in, want := range map[string]string{
		"3.11.2-1+b1":      "3.11",
		"2.36-9+deb12u14":  "2.36",
		"1:2.40-1":         "2.40",
		"garbage":          "",
		"3.12.7-1~deb13u1": "3.12",
	} {
		if got := upstreamMajorMinor(in); got != want {
			t.Errorf("upstreamMajorMinor(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBaseSpecKeyIgnoresPackageOrder(t *testing.T) {
	a := BaseSpec{Suite: "bookworm", Packages: []string{"python3", "ca-certificates"}, Mirror: "http://m/debian"}
	b := BaseSpec{Suite: "bookworm", Packages: []string{"ca-certificates", "python3"}, Mirror: "http://m/debian"}
	if a.key() != b.key() {
		t.Errorf("key differs with package order: %s vs %s", a.key(), b.key())
	}
	c := a
	c.Mirror = "http://other/debian"
	if a.key() == c.key() {
		t.Errorf("key ignores the mirror")
	}
}

func TestDpkgVersions(t *testing.T) {
	root := t.TempDir()
	status := "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u14\n\nPackage: python3-minimal\nVersion: 3.11.2-1+b1\n"
	if err := os.MkdirAll(filepath.Join(root, "var/lib/dpkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := dpkgVersions(root, "libc6", "python3-minimal")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"libc6": "2.36-9+deb12u14", "python3-minimal": "3.11.2-1+b1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dpkgVersions (-want +got):\n%s", diff)
	}
	if _, err := dpkgVersions(root, "perl"); err == nil {
		t.Errorf("dpkgVersions(perl) succeeded for a package that is not installed")
	}
}

// tarEntry is what a user of the layer sees of one entry.
type tarEntry struct {
	Name, Link string
	Type       byte
	Mode       int64
	UID, GID   int
	ModTime    time.Time
	Content    string
}

func readTar(t *testing.T, b []byte) []tarEntry {
	t.Helper()
	var out []tarEntry
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		c, _ := io.ReadAll(tr)
		out = append(out, tarEntry{h.Name, h.Linkname, h.Typeflag, h.Mode, h.Uid, h.Gid, h.ModTime.UTC(), string(c)})
	}
}

func TestWriteRootfsTarIsDeterministic(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "tmp"), 0o755))
	must(os.Chmod(filepath.Join(root, "tmp"), 0o777|os.ModeSticky))
	must(os.WriteFile(filepath.Join(root, "usr/bin/python3.11"), []byte("ELF"), 0o755))
	must(os.Link(filepath.Join(root, "usr/bin/python3.11"), filepath.Join(root, "usr/bin/pyhard")))
	must(os.Symlink("python3.11", filepath.Join(root, "usr/bin/python3")))
	must(os.WriteFile(filepath.Join(root, "b.txt"), []byte("b"), 0o600))
	if os.Geteuid() == 0 {
		must(os.Chown(filepath.Join(root, "b.txt"), 1000, 1001))
	}
	must(os.Chtimes(filepath.Join(root, "b.txt"), time.Now(), time.Now()))

	var first, second bytes.Buffer
	must(writeRootfsTar(&first, root))
	must(os.Chtimes(filepath.Join(root, "b.txt"), time.Now().Add(time.Hour), time.Now().Add(time.Hour)))
	must(writeRootfsTar(&second, root))
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Errorf("two archives of the same tree differ after an mtime change")
	}

	uid, gid := os.Getuid(), os.Getgid()
	bUID, bGID := uid, gid
	if os.Geteuid() == 0 {
		bUID, bGID = 1000, 1001
	}
	epoch := time.Unix(0, 0).UTC()
	want := []tarEntry{
		{Name: "b.txt", Type: tar.TypeReg, Mode: 0o600, UID: bUID, GID: bGID, ModTime: epoch, Content: "b"},
		{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777, UID: uid, GID: gid, ModTime: epoch},
		{Name: "usr/", Type: tar.TypeDir, Mode: 0o755, UID: uid, GID: gid, ModTime: epoch},
		{Name: "usr/bin/", Type: tar.TypeDir, Mode: 0o755, UID: uid, GID: gid, ModTime: epoch},
		{Name: "usr/bin/pyhard", Type: tar.TypeReg, Mode: 0o755, UID: uid, GID: gid, ModTime: epoch, Content: "ELF"},
		{Name: "usr/bin/python3", Link: "python3.11", Type: tar.TypeSymlink, Mode: 0o777, UID: uid, GID: gid, ModTime: epoch},
		{Name: "usr/bin/python3.11", Link: "usr/bin/pyhard", Type: tar.TypeLink, Mode: 0o755, UID: uid, GID: gid, ModTime: epoch},
	}
	if diff := cmp.Diff(want, readTar(t, first.Bytes())); diff != "" {
		t.Errorf("archive entries (-want +got):\n%s", diff)
	}
}

func TestConfigureDropsNetworkNamespaceAndMergesEnv(t *testing.T) {
	spec := &specs.Spec{
		Process: &specs.Process{Terminal: true, Args: []string{"/bin/sh"}, Env: []string{"PATH=/bin", "AIP_HTTP_PORT=8080"}},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
			{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.MountNamespace},
		}},
	}
	got := configure(spec, runOptions{args: []string{"python3", "-V"}, env: []string{"AIP_HTTP_PORT=9123", "EXTRA=1"}})
	want := &specs.Spec{
		Process: &specs.Process{Args: []string{"python3", "-V"}, Env: []string{"PATH=/bin", "AIP_HTTP_PORT=9123", "EXTRA=1"}},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
			{Type: specs.PIDNamespace}, {Type: specs.MountNamespace},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("configure (-want +got):\n%s", diff)
	}
	if !spec.Process.Terminal || len(spec.Linux.Namespaces) != 3 {
		t.Errorf("configure modified its input")
	}
}

func TestBuildkitdConfigSortsRegistries(t *testing.T) {
	got := buildkitdConfig(buildkitOptions{insecure: []string{"127.0.0.1:6000", "127.0.0.1:5000"}})
	want := "[worker.oci]\n  enabled = true\n  gc = false\n[worker.containerd]\n  enabled = false\n" +
		"[registry.\"127.0.0.1:5000\"]\n  http = true\n  insecure = true\n" +
		"[registry.\"127.0.0.1:6000\"]\n  http = true\n  insecure = true\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("buildkitdConfig (-want +got):\n%s", diff)
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{`/tmp/a\040b`: "/tmp/a b", "/plain": "/plain", `/x\`: `/x\`} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTempBuildDirRemovesStaleBuildsOfTheSameEntry(t *testing.T) {
	cache := t.TempDir()
	entry := filepath.Join(cache, "abc")
	stale := filepath.Join(cache, ".build-abc-123")
	other := filepath.Join(cache, ".build-abcd-456")
	for _, d := range []string{stale, other} {
		if err := os.MkdirAll(filepath.Join(d, "rootfs"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tmp, err := tempBuildDir(entry)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale build %s still there: %v", stale, err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another entry's build %s was removed: %v", other, err)
	}
	if filepath.Dir(tmp) != cache {
		t.Errorf("temporary dir %s is not next to %s (rename would cross filesystems)", tmp, entry)
	}
}
