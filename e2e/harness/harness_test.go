package harness

import (
	"fmt"
	"strings"
	"testing"
)

// recordTB records how a helper ended the test instead of ending it.
type recordTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordTB) Helper()                        {}
func (r *recordTB) Fatalf(format string, a ...any) { r.fatal = fmt.Sprintf(format, a...) }
func (r *recordTB) Skipf(format string, a ...any)  { r.skip = fmt.Sprintf(format, a...) }

func TestUnavailableSkipsLocallyAndFailsInCI(t *testing.T) {
	for _, tc := range []struct {
		ci                  string
		wantFatal, wantSkip bool
	}{
		{ci: "", wantSkip: true},
		{ci: "false", wantSkip: true},
		{ci: "true", wantFatal: true},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recordTB{TB: t}
			Unavailable(r, "runc not found (apt-get install -y %s)", "runc")
			if got := r.fatal != ""; got != tc.wantFatal {
				t.Errorf("failed = %t (%q), want %t", got, r.fatal, tc.wantFatal)
			}
			if got := r.skip != ""; got != tc.wantSkip {
				t.Errorf("skipped = %t (%q), want %t", got, r.skip, tc.wantSkip)
			}
			for _, msg := range []string{r.fatal, r.skip} {
				if msg != "" && !strings.Contains(msg, "apt-get install -y runc") {
					t.Errorf("message %q does not name the fix", msg)
				}
			}
		})
	}
}
