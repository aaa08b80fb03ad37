package wheelinstall

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/internal/fsio"
)

const (
	pure = "usr/local/lib/python3.11/site-packages/"
	plat = "usr/local/lib64/python3.11/site-packages/"
)

func mustInstall(t *testing.T, w wheelSpec, opts ...Option) (*tree.Tree, *Result) {
	t.Helper()
	p, sum := w.write(t, t.TempDir())
	tr := tree.New()
	res, err := Install(tr, p, sum, testScheme, opts...)
	if err != nil {
		t.Fatalf("Install(%s) = %v", w.filename(), err)
	}
	return tr, res
}

func filePaths(tr *tree.Tree) []string {
	var out []string
	for _, e := range tr.Entries() {
		if e.Type == tree.File {
			out = append(out, fmt.Sprintf("%s %o", e.Path, e.Mode))
		}
	}
	return out
}

func TestInstallPurelibRecord(t *testing.T) {
	w := wheelSpec{name: "six", version: "1.16.0", purelib: true, files: []member{
		{name: "six.py", data: "print('six')\n"},
		{name: "sixpkg/__init__.py", data: ""},
		{name: "sixpkg/a+b.py", data: "x = 1\n", mode: 0o644},
		{name: "sixpkg/", data: ""}, // directory entries are skipped
	}}
	tr, res := mustInstall(t, w)

	want := []string{
		pure + "six-1.16.0.dist-info/INSTALLER 644",
		pure + "six-1.16.0.dist-info/METADATA 644",
		pure + "six-1.16.0.dist-info/RECORD 644",
		pure + "six-1.16.0.dist-info/WHEEL 644",
		pure + "six.py 644",
		pure + "sixpkg/__init__.py 644",
		pure + "sixpkg/a+b.py 644",
	}
	if diff := cmp.Diff(want, filePaths(tr)); diff != "" {
		t.Errorf("installed files (-want +got):\n%s", diff)
	}
	if got, _ := readEntry(t, tr, pure+"six-1.16.0.dist-info/INSTALLER"); got != "hfpack\n" {
		t.Errorf("INSTALLER = %q, want %q", got, "hfpack\n")
	}
	meta := w.members()[len(w.files)].data
	wheel := w.members()[len(w.files)+1].data
	wantRecord := strings.Join([]string{
		"six-1.16.0.dist-info/INSTALLER," + recordHash("hfpack\n") + ",7",
		"six-1.16.0.dist-info/METADATA," + recordHash(meta) + fmt.Sprintf(",%d", len(meta)),
		"six-1.16.0.dist-info/RECORD,,",
		"six-1.16.0.dist-info/WHEEL," + recordHash(wheel) + fmt.Sprintf(",%d", len(wheel)),
		"six.py," + recordHash("print('six')\n") + ",13",
		"sixpkg/__init__.py," + recordHash("") + ",0",
		"sixpkg/a+b.py," + recordHash("x = 1\n") + ",6",
	}, "\n") + "\n"
	got, err := readEntry(t, tr, pure+"six-1.16.0.dist-info/RECORD")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantRecord, got); diff != "" {
		t.Errorf("RECORD (-want +got):\n%s", diff)
	}
	if res.Name != "six" || res.Version != "1.16.0" || res.DistInfo != pure+"six-1.16.0.dist-info" {
		t.Errorf("Result = %q %q %q, want six 1.16.0 %s", res.Name, res.Version, res.DistInfo, pure+"six-1.16.0.dist-info")
	}
	if len(res.Files) != len(want) {
		t.Errorf("Result.Files has %d files, want %d", len(res.Files), len(want))
	}
	for _, f := range res.Files {
		e, _ := tr.Get(f.Path)
		if e.Size != f.Size || e.Mode != f.Mode {
			t.Errorf("Result file %+v differs from tree entry %+v", f, e)
		}
		data, err := readEntry(t, tr, f.Path)
		if err != nil {
			t.Fatalf("reading %s: %v", f.Path, err)
		}
		if sum := sha256.Sum256([]byte(data)); hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("%s: contents hash %x, Result says %s", f.Path, sum, f.SHA256)
		}
	}
}

func TestRouting(t *testing.T) {
	w := wheelSpec{name: "Native_Pkg", version: "2.0", purelib: false, files: []member{
		{name: "native_pkg/__init__.py", data: "root\n"},
		{name: "native_pkg/_ext.so", data: "\x7fELF", mode: 0o755},
		{name: "Native_Pkg-2.0.data/purelib/native_pkg_pure.py", data: "pure\n"},
		{name: "Native_Pkg-2.0.data/platlib/native_pkg/_ext2.so", data: "so2"},
		{name: "Native_Pkg-2.0.data/data/share/native/x.json", data: "{}"},
		{name: "Native_Pkg-2.0.data/headers/native.h", data: "#pragma once\n"},
		{name: "Native_Pkg-2.0.data/scripts/tool", data: "#!python\nprint('tool')\n"},
		{name: "Native_Pkg-2.0.data/scripts/tool.sh", data: "#!/bin/sh\necho hi\n"},
	}}
	tr, res := mustInstall(t, w)
	want := []string{
		"usr/local/bin/tool 755",
		"usr/local/bin/tool.sh 755",
		"usr/local/include/python3.11/Native_Pkg/native.h 644",
		"usr/local/lib/python3.11/site-packages/native_pkg_pure.py 644",
		plat + "Native_Pkg-2.0.dist-info/INSTALLER 644",
		plat + "Native_Pkg-2.0.dist-info/METADATA 644",
		plat + "Native_Pkg-2.0.dist-info/RECORD 644",
		plat + "Native_Pkg-2.0.dist-info/WHEEL 644",
		plat + "native_pkg/__init__.py 644",
		plat + "native_pkg/_ext.so 755",
		plat + "native_pkg/_ext2.so 644",
		"usr/local/share/native/x.json 644",
	}
	if diff := cmp.Diff(want, filePaths(tr)); diff != "" {
		t.Errorf("installed files (-want +got):\n%s", diff)
	}
	for p, want := range map[string]string{
		"usr/local/bin/tool":    "#!/usr/local/bin/python3.11\nprint('tool')\n",
		"usr/local/bin/tool.sh": "#!/bin/sh\necho hi\n",
	} {
		if got, err := readEntry(t, tr, p); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", p, got, err, want)
		}
	}
	record, err := readEntry(t, tr, res.DistInfo+"/RECORD")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"../../../bin/tool," + recordHash("#!/usr/local/bin/python3.11\nprint('tool')\n") + ",42\n",
		"../../../include/python3.11/Native_Pkg/native.h,",
		"../../../lib/python3.11/site-packages/native_pkg_pure.py,",
		"../../../share/native/x.json,",
		"native_pkg/_ext.so,",
	} {
		if !strings.Contains(record, line) {
			t.Errorf("RECORD lacks %q:\n%s", line, record)
		}
	}
}

func TestShebangRewrite(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"#!python\nbody\n", "#!/usr/local/bin/python3.11\nbody\n"},
		{"#!pythonw -u\nbody\n", "#!/usr/local/bin/python3.11\nbody\n"},
		{"#!python", "#!/usr/local/bin/python3.11\n"},
		{"#!python\r\nbody", "#!/usr/local/bin/python3.11\nbody"},
		{"#!python" + strings.Repeat("x", 10000) + "\nbody\n", "#!/usr/local/bin/python3.11\nbody\n"},
		{"#!/usr/bin/env python\nbody\n", "#!/usr/bin/env python\nbody\n"},
		{"", ""},
	} {
		w := wheelSpec{name: "s", version: "1", purelib: true, files: []member{{name: "s-1.data/scripts/run", data: tc.in}}}
		tr, res := mustInstall(t, w)
		got, err := readEntry(t, tr, "usr/local/bin/run")
		if err != nil || got != tc.want {
			t.Errorf("script %.20q installed as %.40q, %v; want %.40q", tc.in, got, err, tc.want)
		}
		if f := res.Files[slices.IndexFunc(res.Files, func(f File) bool { return f.Path == "usr/local/bin/run" })]; f.Size != int64(len(tc.want)) {
			t.Errorf("script %.20q: Size = %d, want %d", tc.in, f.Size, len(tc.want))
		}
	}
}

func TestEntryPointScripts(t *testing.T) {
	w := wheelSpec{name: "cli", version: "0.1", purelib: true,
		files: []member{
			{name: "cli/__init__.py", data: ""},
			// A setuptools-made wrapper of an entry point is replaced, as pip does.
			{name: "cli-0.1.data/scripts/cli-tool", data: "#!python\nold wrapper\n"},
			{name: "cli-0.1.data/scripts/cli-tool-script.py", data: "old wrapper\n"},
		},
		entryPoints: "# comment\n[console_scripts]\ncli-tool = cli.main:run\ncli.sub = cli : App.start [extra1, extra2]\n\n[gui_scripts]\ncli-gui=cli.gui:main\n[other]\nnot a script\n",
	}
	tr, res := mustInstall(t, w)
	wantScripts := []Script{
		{Name: "cli-gui", Path: "usr/local/bin/cli-gui", Module: "cli.gui", Attr: "main", GUI: true},
		{Name: "cli-tool", Path: "usr/local/bin/cli-tool", Module: "cli.main", Attr: "run"},
		{Name: "cli.sub", Path: "usr/local/bin/cli.sub", Module: "cli", Attr: "App.start"},
	}
	if diff := cmp.Diff(wantScripts, res.Scripts); diff != "" {
		t.Errorf("Scripts (-want +got):\n%s", diff)
	}
	wantText := `#!/usr/local/bin/python3.11
# -*- coding: utf-8 -*-
import re
import sys
from cli import App
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\.pyw|\.exe)?$', '', sys.argv[0])
    sys.exit(App.start())
`
	if got, _ := readEntry(t, tr, "usr/local/bin/cli.sub"); got != wantText {
		t.Errorf("wrapper cli.sub (-want +got):\n%s", cmp.Diff(wantText, got))
	}
	if got, _ := readEntry(t, tr, "usr/local/bin/cli-tool"); !strings.Contains(got, "from cli.main import run\n") {
		t.Errorf("wrapper cli-tool = %q, want the generated wrapper", got)
	}
	if _, ok := tr.Get("usr/local/bin/cli-tool-script.py"); ok {
		t.Error("setuptools wrapper cli-tool-script.py installed; pip skips it")
	}
	for _, s := range res.Scripts {
		if e, _ := tr.Get(s.Path); e.Mode != 0o755 {
			t.Errorf("%s mode = %o, want 755", s.Path, e.Mode)
		}
	}
}

func TestBadEntryPoints(t *testing.T) {
	for _, tc := range []struct {
		eps  string
		want error
	}{
		{"[console_scripts]\nx = mod\n", ErrInvalidWheel},
		{"[console_scripts]\nx = mod:\n", ErrInvalidWheel},
		{"[console_scripts]\nx\n", ErrInvalidWheel},
		{"[console_scripts]\n../../etc/x = mod:f\n", ErrUnsafeMember},
		{"[gui_scripts]\n.. = mod:f\n", ErrUnsafeMember},
		{"[console_scripts]\na/b = mod:f\n", ErrUnsafeMember},
		{"[console_scripts]\nx = mod:f; import os\n", ErrInvalidWheel},
	} {
		w := wheelSpec{name: "ep", version: "1", purelib: true, entryPoints: tc.eps}
		p, sum := w.write(t, t.TempDir())
		if _, err := Install(tree.New(), p, sum, testScheme); !errors.Is(err, tc.want) {
			t.Errorf("entry points %q: Install = %v, want %v", tc.eps, err, tc.want)
		}
	}
}

func TestExecutableBits(t *testing.T) {
	w := wheelSpec{name: "modes", version: "1", purelib: true, files: []member{
		{name: "modes/x755", data: "a", mode: 0o755},
		{name: "modes/x700", data: "a", mode: 0o700},
		{name: "modes/x100", data: "a", mode: 0o100},
		{name: "modes/r644", data: "a", mode: 0o644},
		{name: "modes/r600", data: "a", mode: 0o600},
		{name: "modes/w666", data: "a", mode: 0o666},
		{name: "modes/unset", data: "a"},
		{name: "modes-1.data/scripts/plain", data: "#!/bin/sh\n", mode: 0o644},
	}}
	tr, _ := mustInstall(t, w)
	for name, want := range map[string]fs.FileMode{
		pure + "modes/x755": 0o755, pure + "modes/x700": 0o755, pure + "modes/x100": 0o755,
		pure + "modes/r644": 0o644, pure + "modes/r600": 0o644, pure + "modes/w666": 0o644,
		pure + "modes/unset": 0o644, "usr/local/bin/plain": 0o755,
	} {
		if e, _ := tr.Get(name); e.Mode != want {
			t.Errorf("%s mode = %o, want %o", name, e.Mode, want)
		}
	}
}

func TestStoredAndUnlistedMembers(t *testing.T) {
	w := wheelSpec{name: "st", version: "1", purelib: true, files: []member{
		{name: "st/stored.bin", data: strings.Repeat("s", 5000), stored: true},
	}}
	ms := w.members()
	// A member RECORD does not list (or lists without a hash) is hashed at
	// install time and recorded with its real digest.
	ms = append(ms, member{name: "st/unlisted.py", data: "u = 1\n"})
	p, sum := writeZip(t, t.TempDir(), w.filename(), ms)
	tr := tree.New()
	res, err := Install(tr, p, sum, testScheme)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := readEntry(t, tr, pure+"st/stored.bin"); err != nil || got != strings.Repeat("s", 5000) {
		t.Errorf("stored member = %d bytes, %v", len(got), err)
	}
	record, _ := readEntry(t, tr, res.DistInfo+"/RECORD")
	if !strings.Contains(record, "st/unlisted.py,"+recordHash("u = 1\n")+",6\n") {
		t.Errorf("RECORD lacks the unlisted member:\n%s", record)
	}
	// ... and reported, for a warning naming the wheel and the files.
	if !slices.Equal(res.Unrecorded, []string{"st/unlisted.py"}) {
		t.Errorf("Result.Unrecorded = %q, want [st/unlisted.py]", res.Unrecorded)
	}
}

func TestRecordQuoting(t *testing.T) {
	w := wheelSpec{name: "q", version: "1", purelib: true, files: []member{
		{name: `q/a,b "c".txt`, data: "x"},
	}}
	rec := fmt.Sprintf("\"q/a,b \"\"c\"\".txt\",%s,1\nq-1.dist-info/METADATA,,\nq-1.dist-info/WHEEL,,\nq-1.dist-info/RECORD,,\n", recordHash("x"))
	w.record = &rec
	tr, res := mustInstall(t, w)
	record, _ := readEntry(t, tr, res.DistInfo+"/RECORD")
	if !strings.Contains(record, "\n"+`"q/a,b ""c"".txt",`+recordHash("x")+",1\n") {
		t.Errorf("RECORD does not quote as Python's csv does:\n%s", record)
	}
}

func TestHostileWheels(t *testing.T) {
	good := wheelSpec{name: "h", version: "1", purelib: true, files: []member{{name: "h/__init__.py", data: ""}}}
	with := func(extra ...member) []member { return append(good.members(), extra...) }
	for _, tc := range []struct {
		name    string
		members []member
		want    error
		mention string
	}{
		{"dotdot", with(member{name: "../evil.py", data: "x"}), ErrUnsafeMember, `"../evil.py"`},
		{"inner dotdot", with(member{name: "h/../../evil.py", data: "x"}), ErrUnsafeMember, `"h/../../evil.py"`},
		{"absolute", with(member{name: "/etc/passwd", data: "x"}), ErrUnsafeMember, `"/etc/passwd"`},
		{"data escape", with(member{name: "h-1.data/../../x", data: "x"}), ErrUnsafeMember, `"h-1.data/../../x"`},
		{"data key escape", with(member{name: "h-1.data/data/../../../etc/x", data: "x"}), ErrUnsafeMember, `"h-1.data/data/../../../etc/x"`},
		{"backslash", with(member{name: `h\..\..\evil.py`, data: "x"}), ErrUnsafeMember, `evil.py`},
		{"nul", with(member{name: "h/a\x00.py", data: "x"}), ErrUnsafeMember, `"h/a\x00.py"`},
		{"dot element", with(member{name: "./h/x.py", data: "x"}), ErrUnsafeMember, `"./h/x.py"`},
		{"empty element", with(member{name: "h//x.py", data: "x"}), ErrUnsafeMember, `"h//x.py"`},
		{"duplicate", with(member{name: "h/__init__.py", data: "evil"}), ErrUnsafeMember, `"h/__init__.py"`},
		{"duplicate dir and file", with(member{name: "h/d/", data: ""}, member{name: "h/d", data: "x"}), ErrUnsafeMember, `"h/d"`},
		{"symlink", with(member{name: "h/link", data: "/etc/passwd", mode: fs.ModeSymlink | 0o777}), ErrUnsafeMember, `"h/link"`},
		{"device", with(member{name: "h/dev", data: "", mode: fs.ModeDevice | 0o644}), ErrUnsafeMember, `"h/dev"`},
		{"not utf8", with(member{name: "h/\xff.py", data: "x"}), ErrUnsafeMember, `"h/\xff.py"`},
		{"unknown data key", with(member{name: "h-1.data/lib/x", data: "x"}), ErrInvalidWheel, `"h-1.data/lib/x"`},
		{"file in data dir", with(member{name: "h-1.data/x", data: "x"}), ErrInvalidWheel, `"h-1.data/x"`},
		{"routes onto another", with(member{name: "h-1.data/purelib/h/__init__.py", data: "x"}), ErrInvalidWheel, `"h/__init__.py"`},
		{"routes onto RECORD", with(member{name: "h-1.data/purelib/h-1.dist-info/RECORD", data: "x"}), ErrInvalidWheel, "RECORD"},
		{"file under file", with(member{name: "h/__init__.py/x", data: "x"}), tree.ErrConflict, `h/__init__.py`},
		{"two dist-infos", with(member{name: "x-1.dist-info/METADATA", data: "Name: x\n"}), ErrInvalidWheel, "x-1.dist-info"},
		{"no dist-info", []member{{name: "h/__init__.py"}}, ErrInvalidWheel, ".dist-info"},
		{"foreign dist-info", wheelSpec{name: "other", version: "1", purelib: true}.members()[:0], ErrInvalidWheel, ".dist-info"},
		{"wheel version 2", wheelSpec{name: "h", version: "1", purelib: true, wheelVersion: "2.0"}.members(), ErrUnsupported, "Wheel-Version 2.0"},
		{"wheel version junk", wheelSpec{name: "h", version: "1", purelib: true, wheelVersion: "one"}.members(), ErrInvalidWheel, "one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, sum := writeZip(t, t.TempDir(), "h-1-py3-none-any.whl", tc.members)
			tr := tree.New()
			_, err := Install(tr, p, sum, testScheme)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Install = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.mention) || !strings.Contains(err.Error(), "h-1-py3-none-any.whl") {
				t.Errorf("Install error %q does not name the wheel and %s", err, tc.mention)
			}
			if tr.Len() != 0 {
				t.Errorf("a failed Install left %d entries in the tree", tr.Len())
			}
		})
	}
}

func TestWheelDigestMismatch(t *testing.T) {
	w := wheelSpec{name: "d", version: "1", purelib: true}
	p, sum := w.write(t, t.TempDir())
	wrong := strings.Repeat("0", 64)
	_, err := Install(tree.New(), p, wrong, testScheme)
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("Install with a wrong sha256 = %v, want ErrDigestMismatch", err)
	}
	for _, s := range []string{w.filename(), wrong, sum} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %s", err, s)
		}
	}
	if _, err := Install(tree.New(), p, "sha256:"+strings.ToUpper(sum), testScheme); err != nil {
		t.Errorf("Install with a sha256:-prefixed upper-case digest = %v", err)
	}
	if _, err := Install(tree.New(), p, "abc", testScheme); err == nil {
		t.Error("Install with a malformed digest succeeded")
	}
}

// RECORD rows are taken as pip and uv take them: published wheels carry rows
// their files do not match (torch 1.12.1's METADATA), and the lock's sha256
// of the wheel already vouches for every byte. Such a wheel installs, its
// files are the archive's, and the installed RECORD keeps the wheel's digest.
func TestStaleRecordInstallsAsPipDoes(t *testing.T) {
	w := wheelSpec{name: "m", version: "1", purelib: true, files: []member{
		{name: "m.py", data: "real\n"},
		{name: "m-1.data/scripts/s", data: "#!python\nprint(1)\n"},
	}}
	rec := fmt.Sprintf("m.py,%s,4\nm-1.data/scripts/s,%s,9\nm-1.dist-info/RECORD,,\n", recordHash("fake\n"), recordHash("#!pythoX\n"))
	w.record = &rec
	tr, _ := mustInstall(t, w)
	if got, err := readEntry(t, tr, pure+"m.py"); err != nil || got != "real\n" {
		t.Errorf("m.py = %q, %v; want the archive's bytes", got, err)
	}
	if got, err := readEntry(t, tr, "usr/local/bin/s"); err != nil || got != "#!/usr/local/bin/python3.11\nprint(1)\n" {
		t.Errorf("script s = %q, %v; want the archive's bytes with the interpreter", got, err)
	}
	record, err := readEntry(t, tr, pure+"m-1.dist-info/RECORD")
	if err != nil {
		t.Fatal(err)
	}
	if want := "m.py," + recordHash("fake\n") + ",5\n"; !strings.Contains(record, want) {
		t.Errorf("installed RECORD:\n%s\nwant the wheel's digest for m.py: %q", record, want)
	}
}

// A member whose bytes are not those the archive records (its CRC-32) is
// refused when read, as unzip refuses it, so a layer can never carry it.
func TestCorruptMemberFailsOnRead(t *testing.T) {
	for _, stored := range []bool{false, true} {
		w := wheelSpec{name: "m", version: "1", purelib: true, files: []member{{name: "m.py", data: strings.Repeat("real\n", 400), stored: stored}}}
		p, sum := writeZip(t, t.TempDir(), w.filename(), w.members(), withCRC("m.py", 0xdeadbeef))
		tr := tree.New()
		if _, err := Install(tr, p, sum, testScheme); err != nil {
			t.Fatal(err)
		}
		_, err := readEntry(t, tr, pure+"m.py")
		if !errors.Is(err, zip.ErrChecksum) || !strings.Contains(err.Error(), `"m.py"`) {
			t.Errorf("stored=%t: reading a member with a wrong CRC-32 = %v, want zip.ErrChecksum naming m.py", stored, err)
		}
		// io.CopyN stops at the size without reading EOF: it must still fail.
		e, _ := tr.Get(pure + "m.py")
		rc, _ := e.Open()
		if _, err := io.CopyN(io.Discard, rc, e.Size); !errors.Is(err, zip.ErrChecksum) {
			t.Errorf("stored=%t: io.CopyN of a bad member = %v, want zip.ErrChecksum", stored, err)
		}
		rc.Close()
		if !stored && (e.Deflated == nil || e.Deflated.CRC32 != 0xdeadbeef) {
			t.Errorf("Deflated = %+v, want the archive's CRC-32 for the layer writer to check", e.Deflated)
		}
	}

	// Scripts are read at install time, so their corruption fails Install,
	// a recorded CRC-32 of 0 included (which archive/zip does not check).
	for _, crc := range []uint32{1, 0} {
		w := wheelSpec{name: "m", version: "1", purelib: true, files: []member{{name: "m-1.data/scripts/s", data: "#!python\n"}}}
		p, sum := writeZip(t, t.TempDir(), w.filename(), w.members(), withCRC("m-1.data/scripts/s", crc))
		if _, err := Install(tree.New(), p, sum, testScheme); !errors.Is(err, ErrInvalidWheel) || !errors.Is(err, zip.ErrChecksum) {
			t.Errorf("Install of a script recorded with CRC-32 %08x = %v, want ErrInvalidWheel and zip.ErrChecksum", crc, err)
		}
	}
}

// A wheel file changed after Install is caught when its entries are read.
func TestWheelChangedAfterInstall(t *testing.T) {
	w := wheelSpec{name: "c", version: "1", purelib: true, files: []member{{name: "c.py", data: "AAAA\n", stored: true}}}
	p, sum := w.write(t, t.TempDir())
	tr := tree.New()
	if _, err := Install(tr, p, sum, testScheme); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, bytes.Replace(b, []byte("AAAA\n"), []byte("BBBB\n"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readEntry(t, tr, pure+"c.py"); !errors.Is(err, zip.ErrChecksum) {
		t.Errorf("reading from a modified wheel = %v, want zip.ErrChecksum", err)
	}
}

func TestConflictLeavesTreeUnchanged(t *testing.T) {
	dir := t.TempDir()
	a := wheelSpec{name: "a", version: "1", purelib: true, files: []member{{name: "shared/x.py", data: "a"}}}
	b := wheelSpec{name: "b", version: "1", purelib: true, files: []member{{name: "b.py", data: "b"}, {name: "shared/x.py", data: "b"}}}
	tr := tree.New()
	pa, sa := a.write(t, dir)
	if _, err := Install(tr, pa, sa, testScheme); err != nil {
		t.Fatal(err)
	}
	n := tr.Len()
	pb, sb := b.write(t, dir)
	_, err := Install(tr, pb, sb, testScheme)
	if !errors.Is(err, tree.ErrConflict) || !strings.Contains(err.Error(), "shared/x.py") {
		t.Errorf("installing a second wheel with the same file = %v, want tree.ErrConflict naming shared/x.py", err)
	}
	// Both wheels are named: the one being installed and the owner.
	if err == nil || !strings.Contains(err.Error(), "b-1-py3-none-any.whl") || !strings.Contains(err.Error(), "the wheel of a-1") {
		t.Errorf("conflict error %v does not name both wheels (b-1-py3-none-any.whl and a-1)", err)
	}
	if tr.Len() != n {
		t.Errorf("failed Install changed the tree from %d to %d entries", n, tr.Len())
	}
}

func TestFilenameMustMatch(t *testing.T) {
	w := wheelSpec{name: "real", version: "1", purelib: true}
	ms := w.members()
	p, sum := writeZip(t, t.TempDir(), "0123abcd", ms) // a content-addressed cache name
	if _, err := Install(tree.New(), p, sum, testScheme, WithFilename("other-1-py3-none-any.whl")); !errors.Is(err, ErrInvalidWheel) {
		t.Errorf("Install with a foreign file name = %v, want ErrInvalidWheel", err)
	}
	tr := tree.New()
	_, err := Install(tr, p, sum, testScheme, WithFilename("Real-1-py3-none-any.whl"), WithInstaller("hfpack 1.2"), WithRequested())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := readEntry(t, tr, pure+"real-1.dist-info/REQUESTED"); got != "" || err != nil {
		t.Errorf("REQUESTED = %q, %v; want an empty file", got, err)
	}
	if rec, _ := readEntry(t, tr, pure+"real-1.dist-info/RECORD"); !strings.Contains(rec, "real-1.dist-info/REQUESTED,"+recordHash("")+",0\n") {
		t.Errorf("RECORD lacks REQUESTED:\n%s", rec)
	}
	if got, _ := readEntry(t, tr, pure+"real-1.dist-info/INSTALLER"); got != "hfpack 1.2\n" {
		t.Errorf("INSTALLER = %q, want WithInstaller's name", got)
	}
}

func TestSchemeValidation(t *testing.T) {
	w := wheelSpec{name: "v", version: "1", purelib: true}
	p, sum := w.write(t, t.TempDir())
	for _, mut := range []func(*Scheme){
		func(s *Scheme) { s.Purelib = "/usr/lib" },
		func(s *Scheme) { s.Scripts = "" },
		func(s *Scheme) { s.Data = "usr/../etc" },
		func(s *Scheme) { s.Interpreter = "python3" },
		func(s *Scheme) { s.Interpreter = "/opt/my python/bin/python" },
		func(s *Scheme) { s.Interpreter = "/" + strings.Repeat("p", 130) },
	} {
		s := testScheme
		mut(&s)
		if _, err := Install(tree.New(), p, sum, s); err == nil {
			t.Errorf("Install with scheme %+v succeeded", s)
		}
	}
}

func TestConcurrentReads(t *testing.T) {
	var files []member
	for i := range 50 {
		files = append(files, member{name: fmt.Sprintf("c/f%02d.py", i), data: strings.Repeat(fmt.Sprint(i), 10000), stored: i%2 == 0})
	}
	tr, res := mustInstall(t, wheelSpec{name: "c", version: "1", purelib: true, files: files})
	var wg sync.WaitGroup
	errs := make(chan error, len(res.Files)*4)
	for range 4 {
		for _, f := range res.Files {
			wg.Go(func() {
				e, _ := tr.Get(f.Path)
				rc, err := e.Open()
				if err != nil {
					errs <- err
					return
				}
				defer rc.Close()
				h := sha256.New()
				if _, err := io.Copy(h, rc); err != nil {
					errs <- err
				} else if hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
					errs <- fmt.Errorf("%s: wrong contents", f.Path)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRelPath(t *testing.T) {
	for _, tc := range []struct{ from, to, want string }{
		{"a/b", "a/b/c/d", "c/d"},
		{"usr/local/lib/python3.11/site-packages", "usr/local/bin/x", "../../../bin/x"},
		{"a/b", "c", "../../c"},
		{"a", "ab/c", "../ab/c"},
	} {
		if got := relPath(tc.from, tc.to); got != tc.want {
			t.Errorf("relPath(%q, %q) = %q, want %q", tc.from, tc.to, got, tc.want)
		}
	}
}

// Entries keep reading the wheel after the working directory changes.
func TestRelativeWheelPath(t *testing.T) {
	dir := t.TempDir()
	w := wheelSpec{name: "rel", version: "1", purelib: true, files: []member{{name: "rel.py", data: "r\n"}}}
	_, sum := w.write(t, dir)
	t.Chdir(dir)
	tr := tree.New()
	if _, err := Install(tr, w.filename(), sum, testScheme); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if got, err := readEntry(t, tr, pure+"rel.py"); err != nil || got != "r\n" {
		t.Errorf("reading after chdir = %q, %v", got, err)
	}
}

func TestVersionedWrappers(t *testing.T) {
	eps := "[console_scripts]\npip = pip._internal.cli.main:main\npip3 = pip._internal.cli.main:main\npip3.13 = pip._internal.cli.main:main\n" +
		"easy_install = setuptools.command.easy_install:main\neasy_install-3.6 = setuptools.command.easy_install:main\npipx = pipx.main:cli\n"
	for _, tc := range []struct {
		pyver string
		want  []string
	}{
		{"3.11", []string{"easy_install", "easy_install-3.11", "pip", "pip3", "pip3.11", "pipx"}},
		{"", []string{"easy_install", "easy_install-3.6", "pip", "pip3", "pip3.13", "pipx"}},
	} {
		s := testScheme
		s.PythonVersion = tc.pyver
		w := wheelSpec{name: "pip", version: "24.2", purelib: true, entryPoints: eps}
		p, sum := w.write(t, t.TempDir())
		res, err := Install(tree.New(), p, sum, s)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, sc := range res.Scripts {
			got = append(got, sc.Name)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("PythonVersion %q: scripts (-want +got):\n%s", tc.pyver, diff)
		}
	}
	s := testScheme
	s.PythonVersion = "3"
	w := wheelSpec{name: "v", version: "1", purelib: true}
	p, sum := w.write(t, t.TempDir())
	if _, err := Install(tree.New(), p, sum, s); err == nil {
		t.Error(`Install with PythonVersion "3" succeeded`)
	}
}

func TestParseRECORD(t *testing.T) {
	sum := recordHash("x")
	recs, err := parseRECORD("a.py," + sum + ",1\r\nb\"q.py,,\n\n\"c,d.py\",sha512=AAAA,7\nRECORD,,\n")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"a.py": 1, `b"q.py`: -1, "c,d.py": 7, "RECORD": -1}
	for p, size := range want {
		if r, ok := recs[p]; !ok || r.size != size {
			t.Errorf("RECORD row %q = %+v, %t; want size %d", p, r, ok, size)
		}
	}
	if recs["a.py"].sha256 == nil || recs["c,d.py"].sha256 != nil {
		t.Errorf("sha256 kept only for sha256 rows: a.py %x, c,d.py %x", recs["a.py"].sha256, recs["c,d.py"].sha256)
	}
	for _, bad := range []string{"a.py,sha256=!!,1\n", "a.py,,x\n", "a.py,,-1\n", "a.py\n", "a.py," + sum + ",1\na.py,,2\n"} {
		if _, err := parseRECORD(bad); !errors.Is(err, ErrInvalidWheel) {
			t.Errorf("parseRECORD(%q) = %v, want ErrInvalidWheel", bad, err)
		}
	}
}

// NVIDIA's CUDA wheels each ship the same empty nvidia/__init__.py: a file
// two wheels install with identical bytes installs once, and both wheels'
// RECORDs list it.
func TestIdenticalSharedFileInstallsOnce(t *testing.T) {
	dir := t.TempDir()
	a := wheelSpec{name: "nvidia_a", version: "1", purelib: true, files: []member{{name: "nvidia/__init__.py", data: ""}, {name: "nvidia/a/lib.so", data: "a"}}}
	b := wheelSpec{name: "nvidia_b", version: "1", purelib: true, files: []member{{name: "nvidia/__init__.py", data: ""}, {name: "nvidia/b/lib.so", data: "b"}}}
	tr := tree.New()
	pa, sa := a.write(t, dir)
	if _, err := Install(tr, pa, sa, testScheme); err != nil {
		t.Fatal(err)
	}
	pb, sb := b.write(t, dir)
	res, err := Install(tr, pb, sb, testScheme)
	if err != nil {
		t.Fatalf("installing a second wheel with an identical shared file: %v", err)
	}
	found := false
	for _, f := range res.Files {
		found = found || strings.HasSuffix(f.Path, "nvidia/__init__.py")
	}
	if !found {
		t.Errorf("the second wheel's files %v do not list nvidia/__init__.py", res.Files)
	}
}

// Two wheels whose RECORDs give a shared path the same digest but whose
// bytes differ conflict: RECORD digests are not checked, so equality is
// decided by the bytes.
func TestSharedFileComparedByBytes(t *testing.T) {
	dir := t.TempDir()
	a := wheelSpec{name: "ns_a", version: "1", purelib: true, files: []member{{name: "ns/__init__.py", data: "a = 1\n"}}}
	b := wheelSpec{name: "ns_b", version: "1", purelib: true, files: []member{{name: "ns/__init__.py", data: "b = 1\n"}}}
	rec := fmt.Sprintf("ns/__init__.py,%s,6\nns_b-1.dist-info/RECORD,,\n", recordHash("a = 1\n"))
	b.record = &rec
	tr := tree.New()
	pa, sa := a.write(t, dir)
	if _, err := Install(tr, pa, sa, testScheme); err != nil {
		t.Fatal(err)
	}
	pb, sb := b.write(t, dir)
	if _, err := Install(tr, pb, sb, testScheme); !errors.Is(err, tree.ErrConflict) {
		t.Errorf("installing a different ns/__init__.py under the same RECORD digest = %v, want tree.ErrConflict", err)
	}
	if got, _ := readEntry(t, tr, pure+"ns/__init__.py"); got != "a = 1\n" {
		t.Errorf("ns/__init__.py = %q after the refused wheel, want the first wheel's", got)
	}
}

// knownHashes is a KnownHashes in memory that counts what it records.
type knownHashes struct {
	mu         sync.Mutex
	sums       map[fsio.Source]string
	remembered int
}

func (k *knownHashes) KnownSHA256(src fsio.Source) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	sum, ok := k.sums[src]
	return sum, ok
}

func (k *knownHashes) RememberSHA256(src fsio.Source, sum string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sums[src] = sum
	k.remembered++
	return nil
}

// With WithKnownHashes a wheel is hashed once while it is unchanged, and a
// wheel rewritten since is hashed again, and refused if it is not the
// locked one.
func TestKnownHashes(t *testing.T) {
	w := wheelSpec{name: "k", version: "1", purelib: true, files: []member{{name: "k.py", data: "k = 1\n"}}}
	p, sum := w.write(t, t.TempDir())
	k := &knownHashes{sums: map[fsio.Source]string{}}
	for range 2 {
		if _, err := Install(tree.New(), p, sum, testScheme, WithKnownHashes(k)); err != nil {
			t.Fatal(err)
		}
	}
	if k.remembered != 1 {
		t.Errorf("two installs of an unchanged wheel hashed it %d times, want once", k.remembered)
	}
	other := wheelSpec{name: "k", version: "1", purelib: true, files: []member{{name: "k.py", data: "k = 2\n"}}}
	q, _ := other.write(t, t.TempDir())
	b, err := os.ReadFile(q)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(tree.New(), p, sum, testScheme, WithKnownHashes(k)); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("Install of a wheel rewritten since it was hashed = %v, want ErrDigestMismatch", err)
	}
}

// A member stored with DEFLATE is offered to the layer writer as its
// stream (tree.Entry.Deflated), which inflates to what Open reads; a
// stored member, a script whose first line is replaced and a file the
// installer writes itself are not.
func TestDeflatedMembers(t *testing.T) {
	w := wheelSpec{name: "df", version: "1", purelib: true, files: []member{
		{name: "df/code.py", data: strings.Repeat("x = 1\n", 1000)},
		{name: "df/stored.bin", data: strings.Repeat("s", 5000), stored: true},
		{name: "df-1.data/scripts/run", data: "#!python\n" + strings.Repeat("print(1)\n", 200)},
		{name: "df-1.data/scripts/tool", data: "#!/bin/sh\n" + strings.Repeat("echo 1\n", 200)},
	}}
	tr, res := mustInstall(t, w)
	for p, want := range map[string]bool{
		pure + "df/code.py":         true,
		pure + "df/stored.bin":      false,
		"usr/local/bin/run":         false,
		"usr/local/bin/tool":        true,
		res.DistInfo + "/RECORD":    false,
		res.DistInfo + "/INSTALLER": false,
	} {
		e, ok := tr.Get(p)
		if !ok {
			t.Fatalf("%s not installed", p)
		}
		if got := e.Deflated != nil; got != want {
			t.Errorf("%s: Deflated set = %v, want %v", p, got, want)
			continue
		}
		if e.Deflated == nil {
			continue
		}
		rc, err := e.Deflated.Open()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || int64(len(raw)) != e.Deflated.Size {
			t.Fatalf("%s: stream of %d bytes, %v; want %d", p, len(raw), err, e.Deflated.Size)
		}
		inflated, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatalf("%s: inflating the stream: %v", p, err)
		}
		if got, _ := readEntry(t, tr, p); string(inflated) != got {
			t.Errorf("%s: stream inflates to %d bytes, Open reads %d", p, len(inflated), len(got))
		}
	}
}

// With WithFiles the members are read from the wheel file Install verified,
// kept open: replacing the file at its path changes nothing, and after
// Files.Close the entries can no longer be read.
func TestFilesKeepVerifiedWheel(t *testing.T) {
	w := wheelSpec{name: "kf", version: "1", purelib: true, files: []member{
		{name: "kf/code.py", data: strings.Repeat("x = 1\n", 1000)},
		{name: "kf/small.py", data: "y = 2\n"},
	}}
	dir := t.TempDir()
	p, sum := w.write(t, dir)
	var files Files
	tr := tree.New()
	if _, err := Install(tr, p, sum, testScheme, WithFiles(&files)); err != nil {
		t.Fatal(err)
	}
	// Another wheel of the same name now sits at the path.
	other := wheelSpec{name: "kf", version: "1", purelib: true, files: []member{{name: "kf/code.py", data: "z = 3\n"}}}
	q, _ := other.write(t, t.TempDir())
	if err := os.Rename(q, p); err != nil {
		t.Fatal(err)
	}
	if got, err := readEntry(t, tr, pure+"kf/code.py"); err != nil || got != strings.Repeat("x = 1\n", 1000) {
		t.Errorf("member after the path was replaced = %.20q, %v; want the verified wheel's", got, err)
	}
	e, _ := tr.Get(pure + "kf/code.py")
	rc, err := e.Deflated.Open()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(rc)
	rc.Close()
	if inflated, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw))); err != nil || string(inflated) != strings.Repeat("x = 1\n", 1000) {
		t.Errorf("stream after the path was replaced inflates to %.20q, %v", inflated, err)
	}
	if err := files.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := readEntry(t, tr, pure+"kf/small.py"); !errors.Is(err, os.ErrClosed) {
		t.Errorf("reading after Files.Close = %v, want os.ErrClosed", err)
	}
	// A closed Files no longer keeps wheels: Install opens them per read.
	tr2 := tree.New()
	p2, sum2 := w.write(t, t.TempDir())
	if _, err := Install(tr2, p2, sum2, testScheme, WithFiles(&files)); err != nil {
		t.Fatal(err)
	}
	if got, err := readEntry(t, tr2, pure+"kf/small.py"); err != nil || got != "y = 2\n" {
		t.Errorf("member installed with a closed Files = %q, %v", got, err)
	}
}
