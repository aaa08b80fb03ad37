package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestPlainProgressIsThrottled(t *testing.T) {
	var buf bytes.Buffer
	u := &UI{Out: &bytes.Buffer{}, Err: &buf}
	p := u.NewProgress("pushing layer", 3<<20, true).(*lineProgress)
	clock := time.Unix(0, 0)
	p.now = func() time.Time { return clock }
	p.last = clock
	for i := 0; i < 3; i++ {
		p.Add(1 << 20) // no time passes: no line
	}
	clock = clock.Add(6 * time.Second)
	p.Add(0)
	p.Done()
	p.Done()
	want := "pushing layer: started (3.0 MiB)\npushing layer: 3.0 MiB of 3.0 MiB\npushing layer: done (3.0 MiB)\n"
	if got := buf.String(); got != want {
		t.Errorf("progress lines:\n%s\nwant:\n%s", got, want)
	}
}

func TestQuietDropsInfoNotWarnings(t *testing.T) {
	var buf bytes.Buffer
	u := &UI{Err: &buf, Quiet: true}
	u.Infof("hello")
	u.Warnf("careful")
	u.NewProgress("x", 1, false).Done()
	if got := buf.String(); got != "warning: careful\n" {
		t.Errorf("quiet output = %q", got)
	}
}

func TestResultJSON(t *testing.T) {
	var out bytes.Buffer
	u := &UI{Out: &out, JSON: true}
	if err := u.Result(map[string]string{"digest": "sha256:x"}, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"digest": "sha256:x"`) {
		t.Errorf("JSON result = %q", out.String())
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536 << 20: "1.5 GiB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
