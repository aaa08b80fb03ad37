package leftover

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func old(t *testing.T, p string) {
	t.Helper()
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, past, past); err != nil {
		t.Fatal(err)
	}
}

func TestCleanRemovesOnlyUnheldOldLeftovers(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, isDir bool) string {
		p := filepath.Join(dir, name)
		var err error
		if isDir {
			err = os.MkdirAll(filepath.Join(p, "blobs"), 0o755)
		} else {
			err = os.WriteFile(p, []byte("x"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	killed := mk(".hfpack-oci-killed", true)
	killedFile := mk(".hfpack-oci-file", false)
	live := mk(".hfpack-oci-live", true)
	fresh := mk(".hfpack-oci-fresh", true) // just created, not held yet
	mine := mk("oci-user", true)           // the user's: another name
	for _, p := range []string{killed, killedFile, live, mine} {
		old(t, p)
	}
	release, err := Hold(live)
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	got := Clean(dir, ".hfpack-oci-")
	slices.Sort(got)
	want := []string{killedFile, killed}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Clean() removed %q, want %q", got, want)
	}
	for _, p := range []string{live, fresh, mine} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("Clean removed %s: %v", p, err)
		}
	}
	release()
	if got := Clean(dir, ".hfpack-oci-"); !slices.Equal(got, []string{live}) {
		t.Errorf("after release, Clean() removed %q, want %q", got, []string{live})
	}
	if got := Clean(dir, ""); got != nil {
		t.Errorf("Clean with no prefix removed %q", got)
	}
}
