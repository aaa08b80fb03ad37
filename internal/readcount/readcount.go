// Package readcount tells how many bytes this process has read so far
// through read(2) and its kin, page cache hits included (the rchar line of
// /proc/self/io): the tests that check a build reads each byte once count
// with it.
package readcount

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Bytes returns the bytes this process has read so far; an error where
// /proc/self/io is missing (not Linux) or has no rchar line.
func Bytes() (int64, error) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "rchar: "); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("no rchar in /proc/self/io")
}

// Of is Bytes for a test: it skips t where the count is not available.
func Of(t testing.TB) int64 {
	t.Helper()
	n, err := Bytes()
	if err != nil {
		t.Skipf("cannot count the bytes read: %v", err)
	}
	return n
}
