package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/hfpack/hfpack/internal/redact"
)

// UI carries a command's output streams and modes.
type UI struct {
	Out  io.Writer // results: a digest, a path, JSON
	Err  io.Writer // human lines, warnings, progress
	JSON bool      // results as JSON on Out
	// Quiet drops informational lines (warnings and errors still show).
	Quiet bool
	// TTY is true when Err is a terminal; progress bars are drawn only then.
	TTY bool
}

// New returns a UI writing to out and errw, detecting whether errw is a terminal.
func New(out, errw io.Writer) *UI {
	u := &UI{Out: out, Err: errw}
	if f, ok := errw.(*os.File); ok {
		u.TTY = term.IsTerminal(int(f.Fd()))
	}
	return u
}

// Infof prints a human line on stderr unless quiet. URLs in it lose
// their credentials and queries (redact.Text).
func (u *UI) Infof(format string, args ...any) {
	if !u.Quiet {
		fmt.Fprintln(u.Err, redact.Text(fmt.Sprintf(format, args...)))
	}
}

// Warnf prints a warning on stderr, redacted as Infof is.
func (u *UI) Warnf(format string, args ...any) {
	fmt.Fprintln(u.Err, "warning: "+redact.Text(fmt.Sprintf(format, args...)))
}

// Result prints v on stdout: as indented JSON in JSON mode, otherwise via text.
func (u *UI) Result(v any, text func(w io.Writer) error) error {
	if u.JSON {
		enc := json.NewEncoder(u.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	return text(u.Out)
}

// Progress tracks one long task measured in bytes or items.
type Progress interface {
	// Add records n more units done.
	Add(n int64)
	// Done marks the task finished.
	Done()
	// Fail marks the task ended without finishing: nothing says done.
	Fail()
}

// NewProgress starts reporting a task of total units (bytes when bytes is
// true). On a terminal it draws a bar; otherwise it prints a plain line at
// the start, at most every few seconds, and at the end, so CI logs stay short.
func (u *UI) NewProgress(desc string, total int64, bytes bool) Progress {
	if u.Quiet {
		return nop{}
	}
	if u.TTY {
		var bar *progressbar.ProgressBar
		if bytes {
			bar = progressbar.DefaultBytes(total, desc)
		} else {
			bar = progressbar.NewOptions64(total, progressbar.OptionSetDescription(desc),
				progressbar.OptionSetWriter(u.Err), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
		}
		return barProgress{bar}
	}
	p := &lineProgress{w: u.Err, desc: desc, total: total, bytes: bytes, every: 5 * time.Second, now: time.Now}
	p.last = p.now()
	fmt.Fprintf(p.w, "%s: started (%s)\n", desc, p.format(total))
	return p
}

type nop struct{}

func (nop) Add(int64) {}
func (nop) Done()     {}
func (nop) Fail()     {}

type barProgress struct{ b *progressbar.ProgressBar }

func (p barProgress) Add(n int64) { _ = p.b.Add64(n) }
func (p barProgress) Done()       { _ = p.b.Finish() }
func (p barProgress) Fail()       { _ = p.b.Exit() }

type lineProgress struct {
	mu    sync.Mutex
	w     io.Writer
	desc  string
	total int64
	done  int64
	bytes bool
	every time.Duration
	last  time.Time
	now   func() time.Time
	ended bool
}

func (p *lineProgress) Add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if t := p.now(); t.Sub(p.last) >= p.every {
		p.last = t
		fmt.Fprintf(p.w, "%s: %s of %s\n", p.desc, p.format(p.done), p.format(p.total))
	}
}

func (p *lineProgress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return
	}
	p.ended = true
	fmt.Fprintf(p.w, "%s: done (%s)\n", p.desc, p.format(p.done))
}

func (p *lineProgress) Fail() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return
	}
	p.ended = true
	fmt.Fprintf(p.w, "%s: failed after %s of %s\n", p.desc, p.format(p.done), p.format(p.total))
}

func (p *lineProgress) format(n int64) string {
	if !p.bytes {
		return fmt.Sprintf("%d", n)
	}
	return HumanBytes(n)
}

// HumanBytes formats n in binary units: 1.5 MiB.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
