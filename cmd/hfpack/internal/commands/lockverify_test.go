package commands

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/lockfile/indextest"
	"github.com/hfpack/hfpack/lockfile/pylock"
)

// The reproductions: a lock edited by hand (a version, a name, an
// entry deleted) or a model edited after locking. Before, lock --check,
// check and build all exited 0 on the lock edits and lock --check said "up
// to date" on the model edit. Now all three refuse, with one message.
func TestEveryReaderVerifiesTheLock(t *testing.T) {
	t.Setenv("HFPACK_CACHE_DIR", t.TempDir())
	depOld := indextest.WheelSpec{Name: "demo-dep", Version: "0.9.0"}
	project := func(t *testing.T) string {
		return refusalProject(t, "cpu", []string{"demo-extra>=1.0"},
			indextest.WheelSpec{Name: "demo-extra", Version: "1.0.0", RequiresDist: []string{"demo-dep>=1.0", `pywin32; sys_platform == "win32"`}},
			indextest.WheelSpec{Name: "demo-dep", Version: "1.0.0"},
			depOld)
	}
	lockOf := func(m string) string { return filepath.Join(filepath.Dir(m), pylock.FileName) }
	tests := []struct {
		name      string
		break_    func(t *testing.T, manifest string)
		want      string
		offlineOK bool // lock --check cannot see it (documented); check and build read METADATA
	}{
		{name: "version edited 1.0.0 -> 0.1", want: "package hfpack-demo-text: version 0.1 does not match its wheel hfpack_demo_text-1.0.0-py3-none-any.whl (version 1.0.0)",
			break_: func(t *testing.T, m string) {
				editFile(t, lockOf(m), "name = \"hfpack-demo-text\"\nversion = \"1.0.0\"", "name = \"hfpack-demo-text\"\nversion = \"0.1\"")
			}},
		{name: "entry renamed to requests", want: "package requests: its wheel demo_extra-1.0.0-py3-none-any.whl is of project demo-extra, not requests",
			break_: func(t *testing.T, m string) {
				editFile(t, lockOf(m), "[[packages]]\nname = \"demo-extra\"", "[[packages]]\nname = \"requests\"")
			}},
		{name: "one of two entries deleted", want: `requirement "demo-extra>=1.0" of `,
			break_: func(t *testing.T, m string) {
				b, _ := os.ReadFile(lockOf(m))
				s := string(b)
				i := strings.Index(s, "[[packages]]\nname = \"demo-extra\"")
				j := strings.Index(s[i+1:], "[[packages]]")
				editFile(t, lockOf(m), s[i:i+1+j], "")
			}},
		{name: "model file edited", want: "model changed since the lock: vocab.txt changed",
			break_: func(t *testing.T, m string) {
				editFile(t, filepath.Join(filepath.Dir(m), "model", "vocab.txt"), "[UNK]", "[UNKNOWN]")
			}},
		{name: "dependency swapped for an older wheel", offlineOK: true, want: "demo-extra 1.0.0 requires demo-dep>=1.0, but the lock has demo-dep 0.9.0",
			break_: func(t *testing.T, m string) {
				data, err := indextest.BuildWheel(depOld)
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(data)
				l, err := pylock.ReadFile(lockOf(m))
				if err != nil {
					t.Fatal(err)
				}
				p, _ := l.Package("demo-dep")
				w := p.Wheels[0]
				editFile(t, lockOf(m),
					"name = \"demo-dep\"\nversion = \"1.0.0\"", "name = \"demo-dep\"\nversion = \"0.9.0\"",
					w.Name, depOld.Filename(),
					w.Name, depOld.Filename(),
					fmt.Sprintf("size = %d\n", w.Size), fmt.Sprintf("size = %d\n", len(data)),
					w.SHA256, hex.EncodeToString(sum[:]))
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := project(t)
			if code, _, stderr := run(t, "lock", "--check", m); code != ExitOK {
				t.Fatalf("lock --check of the fresh lock: exit %d\n%s", code, stderr)
			}
			tc.break_(t, m)
			lcode, _, lerr := run(t, "lock", "--check", m)
			ccode, _, cerr := run(t, "check", m)
			out := filepath.Join(t.TempDir(), "out")
			bcode, _, berr := run(t, "build", m, "--output", "oci:"+out, "--sidecar", filepath.Join(t.TempDir(), "no-sidecar"))
			if bcode != ExitFailure || ccode != ExitFailure {
				t.Fatalf("build exit %d, check exit %d; want 1 and 1\nbuild:\n%s\ncheck:\n%s", bcode, ccode, berr, cerr)
			}
			if !strings.Contains(berr, tc.want) {
				t.Errorf("build's refusal does not say %q:\n%s", tc.want, berr)
			}
			if got, want := errorLines(cerr), errorLines(berr); got != want {
				t.Errorf("check refused with\n%s\nbuild with\n%s", got, want)
			}
			if tc.offlineOK {
				if lcode != ExitOK {
					t.Errorf("lock --check: exit %d, want 0 (it does not read wheels)\n%s", lcode, lerr)
				}
			} else if got, want := errorLines(lerr), errorLines(berr); lcode != ExitFailure || got != want {
				t.Errorf("lock --check: exit %d with\n%s\nbuild refused with\n%s", lcode, got, want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("build wrote %s before refusing", out)
			}
		})
	}
}
