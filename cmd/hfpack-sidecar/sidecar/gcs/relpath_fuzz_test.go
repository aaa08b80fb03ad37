package gcs

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRelPath: an object name from a listing either is refused or lands
// inside the destination, outside the staging directory.
func FuzzRelPath(f *testing.F) {
	for _, s := range []string{"m/config.json", "m/../x", "m//x", "m/./x", "m/a\\..\\..\\x", "m/.hfpack-download/a.state",
		"m/", "m/..", "m/sub/../../x", "m/\x00", "m/ü #?.txt", "m/.hfpack-download", "m/a/.hfpack-download/x"} {
		f.Add("m/", s)
	}
	f.Fuzz(func(t *testing.T, prefix, name string) {
		rel, err := relPath(prefix, name)
		if err != nil {
			return
		}
		if !filepath.IsLocal(rel) {
			t.Fatalf("relPath(%q, %q) = %q, not local", prefix, name, rel)
		}
		dest := filepath.Join("/dest", rel)
		if !strings.HasPrefix(dest, "/dest/") || strings.HasPrefix(dest, filepath.Join("/dest", StageDir)+"/") || dest == filepath.Join("/dest", StageDir) {
			t.Fatalf("relPath(%q, %q) = %q lands at %s", prefix, name, rel, dest)
		}
	})
}
