package e2e

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/hfpack/hfpack/e2e/harness"
	"github.com/hfpack/hfpack/examples/sst2/demoindex"
	"github.com/hfpack/hfpack/lockfile/indextest"
)

// The .data package every example copy also requires: a script installed through the wheel's
// .data/scripts (its #!python shebang rewritten by the installer) that prints a file installed
// through .data/data.
const (
	dataPackage  = "hfpack-e2e-data"
	dataScript   = "e2e-data-greeting"
	dataGreeting = "hello from a .data directory"
)

// demoWheel is the example's hfpack-demo-text wheel, built from examples/sst2/packages exactly
// as examples/sst2/gen serves it.
func demoWheel(t testing.TB) indextest.WheelSpec {
	t.Helper()
	spec, err := demoindex.Wheel()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// dataWheel is a wheel with a .data directory: a script and a data file;
// and two larger members, a module and a binary data file, which the
// embedded builder carries into the layer as their DEFLATE streams (the
// second too large to read ahead).
func dataWheel() indextest.WheelSpec {
	corpus, blob := dataCorpus()
	// Data lands where pip's scheme for the image's Python puts it
	// (/usr/local for Debian's system Python), which sysconfig names.
	script := "#!python\nimport os, sysconfig\n" +
		"with open(os.path.join(sysconfig.get_path('data'), 'share', 'hfpack-e2e', 'greeting.txt')) as f:\n" +
		"    print(f.read().strip())\n"
	return indextest.WheelSpec{
		Name:    dataPackage,
		Version: "0.3.0",
		Data: []indextest.DataFile{
			{Scheme: "scripts", WheelFile: indextest.WheelFile{Path: dataScript, Data: []byte(script), Mode: 0o755}},
			{Scheme: "data", WheelFile: indextest.WheelFile{Path: "share/hfpack-e2e/greeting.txt", Data: []byte(dataGreeting + "\n")}},
			{Scheme: "data", WheelFile: indextest.WheelFile{Path: dataBlob, Data: blob}},
		},
		Files: []indextest.WheelFile{{Path: "hfpack_e2e_data/corpus.py", Data: corpus}},
	}
}

// dataBlob is dataWheel's binary file, under the data scheme's /usr/local.
const dataBlob = "share/hfpack-e2e/blob.bin"

// dataCorpus returns the contents of dataWheel's module (48 KiB of Python)
// and binary file (300 KiB, incompressible).
func dataCorpus() (corpus, blob []byte) {
	var b strings.Builder
	b.WriteString("WORDS = [\n")
	for i := 0; b.Len() < 48<<10; i++ {
		fmt.Fprintf(&b, "    %q,\n", fmt.Sprintf("word-%d-%x", i, i*2654435761%1000003))
	}
	b.WriteString("]\n")
	blob = make([]byte, 300<<10)
	x := uint64(88172645463325252)
	for i := range blob {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		blob[i] = byte(x)
	}
	return []byte(b.String()), blob
}

// startIndex serves the example's wheel and the .data package on 127.0.0.1.
func startIndex(t testing.TB) *indextest.Server {
	t.Helper()
	s := indextest.NewServer()
	t.Cleanup(s.Close)
	s.MustAddWheel(demoWheel(t))
	s.MustAddWheel(dataWheel())
	return s
}

// torchWheel is a fake CUDA 12.8 torch wheel, named as on download.pytorch.org/whl/cu128.
var torchWheel = indextest.WheelSpec{Name: "torch", Version: "2.11.0+cu128", Tag: "cp311-cp311-manylinux_2_28_x86_64"}

// startTorchIndex imitates a per-CUDA torch index (download.pytorch.org/whl/cu128).
func startTorchIndex(t testing.TB) *indextest.Server {
	t.Helper()
	s := indextest.NewServer()
	t.Cleanup(s.Close)
	s.MustAddWheel(torchWheel)
	return s
}

// project is a copy of examples/sst2 in a temporary directory, wired to the local stand-ins.
type project struct {
	Dir      string
	Manifest string // absolute path of hfpack.toml
}

// baseLayout returns the harness's Debian base as an OCI layout reference for [image] base.
func baseLayout(t testing.TB) string {
	t.Helper()
	return "oci-layout:" + harness.Base(t, harness.DefaultBase()).Layout
}

// newProject copies the example (manifest, handler, model; not its lock or outputs) and rewrites
// its manifest: index-url points at ix, base at base ("" keeps the catalog's choice), and the
// requirements gain the .data package.
func newProject(t testing.TB, ix *indextest.Server, base string) *project {
	t.Helper()
	src := filepath.Join(repoRoot, "examples", "sst2")
	p := &project{Dir: t.TempDir()}
	p.Manifest = filepath.Join(p.Dir, "hfpack.toml")
	if err := os.CopyFS(filepath.Join(p.Dir, "model"), os.DirFS(filepath.Join(src, "model"))); err != nil {
		t.Fatal(err)
	}
	handler, err := os.ReadFile(filepath.Join(src, "handler.py"))
	if err != nil {
		t.Fatal(err)
	}
	// The model loads in a second at least, so that serveAndProbe sees
	// health answer 503 while it loads however busy the machine is (the
	// example's tiny model loads in milliseconds).
	h := strings.Replace(string(handler), "\nimport struct\n", "\nimport struct\nimport time\n", 1)
	h = strings.Replace(h, "def load(model_dir):\n", "def load(model_dir):\n    time.sleep(1)\n", 1)
	if strings.Count(h, "time") != strings.Count(string(handler), "time")+2 {
		t.Fatal("the example handler has no load(model_dir) to slow down")
	}
	p.write(t, "handler.py", h)
	m, err := os.ReadFile(filepath.Join(src, "hfpack.toml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(m)
	s = replaceLine(t, s, "index-url", `index-url = "`+ix.URL+`"`)
	s = replaceLine(t, s, "requirements", `requirements = ["hfpack-demo-text>=1.0", "`+dataPackage+`==0.3.0"]`)
	if base != "" {
		s = replaceLine(t, s, "base", `base = "`+base+`"`)
	} else {
		s = replaceLine(t, s, "base", "")
	}
	p.write(t, "hfpack.toml", s)
	return p
}

// replaceLine replaces the manifest line assigning key; the test fails when there is none, so
// a change to the example's manifest shows up here.
func replaceLine(t testing.TB, manifest, key, line string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `\s*=.*$`)
	if !re.MatchString(manifest) {
		t.Fatalf("the example's hfpack.toml has no %q line", key)
	}
	return re.ReplaceAllLiteralString(manifest, line)
}

// edit rewrites the manifest's line assigning key.
func (p *project) edit(t testing.TB, key, line string) {
	t.Helper()
	p.write(t, "hfpack.toml", replaceLine(t, p.read(t, "hfpack.toml"), key, line))
}

func (p *project) read(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.Dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (p *project) write(t testing.TB, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(p.Dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fileDownloads counts the wheel downloads an index served.
func fileDownloads(ix *indextest.Server, specs ...indextest.WheelSpec) int {
	n := 0
	for _, s := range specs {
		n += ix.Requests(indextest.FilePath(s.Filename()))
	}
	return n
}

// fileTree describes every file under root: type, permissions, owner, and the sha256 of a
// regular file's content or a symlink's target. Modification times are left out.
func fileTree(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		st, _ := info.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%s %d:%d", info.Mode(), st.Uid, st.Gid)
		switch {
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %x", sha256.Sum256(b))
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	return out
}
