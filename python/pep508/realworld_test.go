package pep508

import (
	"bufio"
	"os"
	"testing"
)

// testdata/requires-dist.txt holds the Requires-Dist lines of the 212
// distributions installed on a Debian machine (pip's packaging 21.3 parses
// every one of them).
func realWorldRequirements(tb testing.TB) []string {
	tb.Helper()
	f, err := os.Open("testdata/requires-dist.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var lines []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		lines = append(lines, sc.Text())
	}
	return lines
}

func TestRealWorldRequirements(t *testing.T) {
	env := LinuxEnvironment("3.11.10", "x86_64")
	for _, line := range realWorldRequirements(t) {
		r, err := ParseRequirement(line)
		if err != nil {
			t.Errorf("ParseRequirement(%q): %v", line, err)
			continue
		}
		again, err := ParseRequirement(r.String())
		if err != nil || again.String() != r.String() {
			t.Errorf("%q: canonical form %q does not round-trip: %v", line, r.String(), err)
		}
		if r.Marker != nil {
			r.Marker.Evaluate(env)
		}
	}
}
