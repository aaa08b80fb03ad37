package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// wantRefused fails unless r exited 1 with every one of wants in its stderr.
func wantRefused(t *testing.T, r result, wants ...string) {
	t.Helper()
	if r.code != 1 {
		t.Errorf("hfpack %s: exit %d, want 1 (refused)\n%v", strings.Join(r.args, " "), r.code, r)
	}
	for _, w := range wants {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("hfpack %s: stderr does not name %q:\n%s", strings.Join(r.args, " "), w, r.stderr)
		}
	}
}

// TestStaleLock: requirements edited after `hfpack lock` make build, check and lock --check
// refuse with the documented "run hfpack lock" message, and leave no image behind.
func TestStaleLock(t *testing.T) {
	heavy(t)
	ix := startIndex(t)
	p := newProject(t, ix, baseLayout(t))
	mustHfpack(t, p.Dir, nil, "lock", p.Manifest)
	mustHfpack(t, p.Dir, nil, "lock", "--check", p.Manifest)

	p.edit(t, "requirements", `requirements = ["hfpack-demo-text>=1.0,<2"]`)
	out := filepath.Join(p.Dir, "out", "stale")
	wantRefused(t, hfpack(t, p.Dir, nil, "build", p.Manifest, "--output", "oci:"+out), "run hfpack lock")
	wantRefused(t, hfpack(t, p.Dir, nil, "lock", "--check", p.Manifest), "hfpack lock")
	wantRefused(t, hfpack(t, p.Dir, nil, "check", p.Manifest), "run hfpack lock")
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused build wrote %s", out)
	}

	mustHfpack(t, p.Dir, nil, "lock", p.Manifest)
	mustHfpack(t, p.Dir, nil, "lock", "--check", p.Manifest)
}

// TestImpossibleGPU: a V100 (sm_70) with a CUDA 12.8 torch build, which dropped sm_70, is refused
// by check and build before a single wheel is downloaded.
func TestImpossibleGPU(t *testing.T) {
	heavy(t)
	ix := startIndex(t)
	torch := startTorchIndex(t)
	p := newProject(t, ix, "")
	p.edit(t, "requirements", `requirements = ["hfpack-demo-text>=1.0", "torch==2.11.0"]`)
	p.edit(t, "type", "type = \"NVIDIA_TESLA_V100\"\ncount = 1")
	p.write(t, "hfpack.toml", p.read(t, "hfpack.toml")+
		"\n[[python.index]]\nname = \"pytorch-cu128\"\nurl = \""+torch.URL+"\"\npackages = [\"torch\"]\n")

	// The lock resolves (it knows nothing of the GPU); it must not download wheels either.
	mustHfpack(t, p.Dir, nil, "lock", p.Manifest)
	if lock := p.read(t, "pylock.toml"); !strings.Contains(lock, torchWheel.Filename()) {
		t.Fatalf("the lock does not hold %s:\n%s", torchWheel.Filename(), lock)
	}
	torch.ResetRequests()
	ix.ResetRequests()

	wantRefused(t, hfpack(t, p.Dir, nil, "check", p.Manifest), "sm_70")
	wantRefused(t, hfpack(t, p.Dir, nil, "build", p.Manifest), "sm_70")
	if n := fileDownloads(torch, torchWheel) + fileDownloads(ix, demoWheel(t), dataWheel()); n != 0 {
		t.Errorf("refused GPU builds downloaded %d wheels; they must refuse before any download", n)
	}
	if n := torch.TotalRequests(); n != 0 {
		t.Errorf("the torch index got %d requests after locking, want none", n)
	}
}

// TestMissingImport: a handler importing a package the lock does not provide is refused by build
// and check, naming the import, the file and line, and the requirement to add.
func TestMissingImport(t *testing.T) {
	heavy(t)
	ix := startIndex(t)
	p := newProject(t, ix, baseLayout(t))
	mustHfpack(t, p.Dir, nil, "lock", p.Manifest)
	h := p.read(t, "handler.py")
	h = strings.Replace(h, "import struct\n", "import struct\n\nimport yaml\n", 1)
	p.write(t, "handler.py", h)
	line := strings.Count(h[:strings.Index(h, "import yaml")], "\n") + 1
	where := "handler.py:" + strconv.Itoa(line)

	wantRefused(t, hfpack(t, p.Dir, nil, "build", p.Manifest, "--output", "oci:"+filepath.Join(p.Dir, "out", "x")),
		`"yaml"`, where, `add "PyYAML"`)
	wantRefused(t, hfpack(t, p.Dir, nil, "check", p.Manifest), `"yaml"`, where, `add "PyYAML"`)
}
