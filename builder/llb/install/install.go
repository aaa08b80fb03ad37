package install

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/builder/wheelinstall"
)

// Wheel is one wheel to install: a file in the ExecOp, its expected sha256
// and its file name (which the installer parses for name and version).
type Wheel struct {
	Path, SHA256, Filename string
}

// Args returns the command-line arguments Main reads: the scheme as JSON,
// the epoch, the output directory and each wheel as PATH#SHA256#FILENAME,
// in order.
func Args(s wheelinstall.Scheme, epoch int64, out string, wheels []Wheel) ([]string, error) {
	js, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	args := []string{"--scheme-json", string(js), "--epoch", fmt.Sprint(epoch), "--out", out}
	for _, w := range wheels {
		args = append(args, w.Path+"#"+w.SHA256+"#"+w.Filename)
	}
	return args, nil
}

// Main installs wheels as Args describes them (args excludes the program
// name and any subcommand words). Each wheel's sha256 is checked before it
// is read. Files are 0o644, or 0o755 when the wheel marks them executable;
// directories 0o755; every modification time is the epoch.
func Main(args []string) error {
	fl := flag.NewFlagSet("install-wheels", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	schemeJSON := fl.String("scheme-json", "", "the install scheme as JSON")
	epoch := fl.Int64("epoch", 0, "modification time of every file (SOURCE_DATE_EPOCH)")
	out := fl.String("out", "", "directory the layer is written to")
	if err := fl.Parse(args); err != nil {
		return fmt.Errorf("install-wheels: %w", err)
	}
	if *schemeJSON == "" || *out == "" {
		return errors.New("install-wheels: --scheme-json and --out are required")
	}
	var s wheelinstall.Scheme
	if err := json.Unmarshal([]byte(*schemeJSON), &s); err != nil {
		return fmt.Errorf("install-wheels: --scheme-json: %w", err)
	}
	t := tree.New()
	for _, a := range fl.Args() {
		parts := strings.Split(a, "#")
		if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
			return fmt.Errorf("install-wheels: wheel argument %q is not PATH#SHA256#FILENAME", a)
		}
		if _, err := wheelinstall.Install(t, parts[0], parts[1], s, wheelinstall.WithFilename(parts[2])); err != nil {
			return fmt.Errorf("installing %s: %w", parts[2], err)
		}
	}
	return Write(t, *out, time.Unix(*epoch, 0).UTC())
}

// Write materialises t under dir with normalised modes and every
// modification time set to mtime: each file's before it is closed, then
// the directories' and links', deepest first. Files are written one at a
// time: on ext4 most of a file's cost is creating its inode, and creates in
// parallel contend in the allocator (more CPU, no less time, measured on
// the serving-shaped fixture).
func Write(t *tree.Tree, dir string, mtime time.Time) error {
	entries := t.Entries()
	ts := []unix.Timespec{unix.NsecToTimespec(mtime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	buf := make([]byte, 256<<10)
	for _, e := range entries {
		p := filepath.Join(dir, filepath.FromSlash(e.Path))
		var err error
		if e.Type == tree.File {
			err = copyFile(p, e, buf, ts)
		} else {
			err = writeEntry(p, e)
		}
		if err != nil {
			return fmt.Errorf("writing /%s: %w", e.Path, err)
		}
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Type == tree.File {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(entries[i].Path))
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("setting the time of /%s: %w", entries[i].Path, err)
		}
	}
	return nil
}

func writeEntry(p string, e tree.Entry) error {
	switch e.Type {
	case tree.Dir:
		if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		return os.Chmod(p, 0o755)
	case tree.Symlink:
		return os.Symlink(e.Linkname, p)
	}
	return fmt.Errorf("unsupported entry type %s", e.Type)
}

// copyFile writes the file e at p with its normalised mode and time ts,
// reading through buf.
func copyFile(p string, e tree.Entry, buf []byte, ts []unix.Timespec) error {
	mode := os.FileMode(0o644)
	if e.Mode&0o111 != 0 {
		mode = 0o755
	}
	r, err := e.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	// Not f.ReadFrom, which allocates a buffer of its own for every file.
	n, err := io.CopyBuffer(struct{ io.Writer }{f}, r, buf)
	if err == nil && n != e.Size {
		err = fmt.Errorf("wrote %d bytes, want %d", n, e.Size)
	}
	if err == nil {
		err = f.Chmod(mode) // the umask may have cleared bits
	}
	if err == nil {
		err = futimens(f, ts)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// futimens sets f's access and modification times (utimensat with a NULL
// path, which names the descriptor itself).
func futimens(f *os.File, ts []unix.Timespec) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	err = rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall6(unix.SYS_UTIMENSAT, fd, 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return os.NewSyscallError("utimensat", errno)
	}
	return nil
}
