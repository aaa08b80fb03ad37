package inflate

import (
	"bytes"
	"compress/flate"
	"io"
	"strings"
	"testing"
)

func deflate(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	io.WriteString(w, s)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A released inflater reads the next stream from its start, as a new one.
func TestReleasedReaderReadsTheNextStream(t *testing.T) {
	for i, s := range []string{strings.Repeat("first stream ", 5000), "second", strings.Repeat("3", 70000)} {
		fl := Reader(bytes.NewReader(deflate(t, s)))
		got, err := io.ReadAll(fl)
		if err != nil || string(got) != s {
			t.Fatalf("stream %d: %d bytes, %v; want %d", i, len(got), err, len(s))
		}
		Release(fl)
	}
}
