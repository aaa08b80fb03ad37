package commands

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/lockfile/indextest"
	"github.com/hfpack/hfpack/lockfile/pylock"
)

// exampleCopy copies the bundled example into a temporary directory with
// its index-url pointing at indexURL, and returns the manifest's path.
func exampleCopy(t *testing.T, indexURL string) string {
	t.Helper()
	src := filepath.Join(repoRoot(t), "examples", "sst2")
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if rel == ".hfpack" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if rel == pylock.FileName {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == "hfpack.toml" {
			data = []byte(strings.Replace(string(data), "http://127.0.0.1:8765/simple", indexURL, 1))
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dst, "hfpack.toml")
}

func TestLockExample(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	srv.MustAddWheel(indextest.WheelSpec{Name: "hfpack-demo-text", Version: "1.0.0", RequiresPython: ">=3.8"})
	manifestPath := exampleCopy(t, srv.URL)
	lockPath := filepath.Join(filepath.Dir(manifestPath), pylock.FileName)
	cache := t.TempDir()
	t.Setenv("HFPACK_CACHE_DIR", t.TempDir()) // nothing may leak into the user's cache

	code, stdout, stderr := run(t, "lock", manifestPath, "--cache-dir", cache)
	if code != ExitOK {
		t.Fatalf("hfpack lock: exit %d\n%s", code, stderr)
	}
	if got := strings.TrimSpace(stdout); got != lockPath {
		t.Errorf("stdout = %q, want the lock path %q", got, lockPath)
	}
	for _, want := range []string{"+ hfpack-demo-text 1.0.0", "Locked 1 package in"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	first, err := os.ReadFile(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	l, err := pylock.Unmarshal(first)
	if err != nil {
		t.Fatalf("the lock does not parse: %v", err)
	}
	if p, ok := l.Package("hfpack-demo-text"); !ok || p.Version != "1.0.0" {
		t.Errorf("lock packages = %+v, want hfpack-demo-text 1.0.0", l.Packages)
	}
	if l.HFPack == nil || len(l.HFPack.ModelFiles) == 0 {
		t.Errorf("the lock records no model files: %+v", l.HFPack)
	}

	t.Run("again changes nothing", func(t *testing.T) {
		code, stdout, stderr := run(t, "--json", "lock", manifestPath, "--cache-dir", cache)
		if code != ExitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		var r LockReport
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("--json output %q: %v", stdout, err)
		}
		if r.Written || len(r.Changes) != 0 || r.Packages != 1 {
			t.Errorf("report = %+v, want nothing written or changed", r)
		}
		again, _ := os.ReadFile(lockPath)
		if string(again) != string(first) {
			t.Errorf("the lock changed:\n%s\nthen\n%s", first, again)
		}
	})
	t.Run("check passes", func(t *testing.T) {
		if code, _, stderr := run(t, "lock", "--check", manifestPath); code != ExitOK {
			t.Errorf("lock --check: exit %d\n%s", code, stderr)
		}
	})
	t.Run("check fails after editing requirements", func(t *testing.T) {
		src, _ := os.ReadFile(manifestPath)
		edited := strings.Replace(string(src), `requirements = ["hfpack-demo-text>=1.0"]`, `requirements = ["hfpack-demo-text>=1.0,<2"]`, 1)
		if edited == string(src) {
			t.Fatal("the example's requirements line moved; update the test")
		}
		if err := os.WriteFile(manifestPath, []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := run(t, "lock", "--check", manifestPath)
		if code != ExitFailure {
			t.Errorf("lock --check: exit %d, want %d", code, ExitFailure)
		}
		for _, want := range []string{"lock is stale", "run hfpack lock"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr does not say %q:\n%s", want, stderr)
			}
		}
	})
	t.Run("check fails without a lock", func(t *testing.T) {
		if err := os.Remove(lockPath); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := run(t, "lock", "--check", manifestPath)
		if code != ExitFailure || !strings.Contains(stderr, "run hfpack lock") {
			t.Errorf("lock --check: exit %d, stderr:\n%s", code, stderr)
		}
	})
}

func TestLockUpgradePackage(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	srv.MustAddWheel(indextest.WheelSpec{Name: "hfpack-demo-text", Version: "1.0.0"})
	manifestPath := exampleCopy(t, srv.URL)
	cache := t.TempDir()
	if code, _, stderr := run(t, "lock", manifestPath, "--cache-dir", cache); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	srv.MustAddWheel(indextest.WheelSpec{Name: "hfpack-demo-text", Version: "1.1.0"})

	_, _, stderr := run(t, "lock", manifestPath, "--cache-dir", cache)
	if !strings.Contains(stderr, "up to date") {
		t.Errorf("a plain relock moved the lock:\n%s", stderr)
	}
	code, _, stderr := run(t, "lock", manifestPath, "--cache-dir", cache, "--upgrade-package", "hfpack_demo_text")
	if code != ExitOK || !strings.Contains(stderr, "~ hfpack-demo-text 1.0.0 -> 1.1.0 (upgraded)") {
		t.Errorf("--upgrade-package: exit %d\n%s", code, stderr)
	}
}

func TestLockUsageErrors(t *testing.T) {
	code, _, stderr := run(t, "lock", "--check", "--upgrade", filepath.Join(repoRoot(t), "examples", "sst2", "hfpack.toml"))
	if code != ExitUsage || !strings.Contains(stderr, "--check") {
		t.Errorf("--check --upgrade: exit %d\n%s", code, stderr)
	}
}
