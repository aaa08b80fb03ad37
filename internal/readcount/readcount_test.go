package readcount

import (
	"os"
	"path/filepath"
	"testing"
)

// Reading a file of n bytes moves the count by at least n.
func TestBytesCountsReads(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	before := Of(t)
	if _, err := os.ReadFile(p); err != nil {
		t.Fatal(err)
	}
	if got := Of(t) - before; got < 1<<20 {
		t.Errorf("reading 1 MiB moved the count by %d", got)
	}
}
