package indextest

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"time"
)

// ZipTime is the modification time stamped on every member of a built wheel.
var ZipTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// WheelFile is one file placed in a wheel.
type WheelFile struct {
	// Path is the member path relative to the archive root (for Files) or to
	// the scheme directory (for WheelSpec.Data).
	Path string
	// Data is the file content.
	Data []byte
	// Mode is the Unix permission bits; 0 means 0o644.
	Mode fs.FileMode
}

// DataFile is a file placed under {name}-{version}.data/{Scheme}/.
type DataFile struct {
	// Scheme is one of scripts, data, headers, purelib or platlib.
	Scheme string
	WheelFile
}

// WheelSpec describes a wheel for BuildWheel. Only Name and Version are
// required; everything else has a sensible default.
type WheelSpec struct {
	// Name is the project name as written in METADATA.
	Name string
	// Version is the version string, written verbatim.
	Version string
	// Build is an optional build tag (must start with a digit).
	Build string
	// Tag is the compressed tag triple, default "py3-none-any".
	Tag string
	// MetadataVersion defaults to "2.1".
	MetadataVersion string
	// Summary is an optional one-line summary.
	Summary string
	// RequiresPython is written as Requires-Python when non-empty.
	RequiresPython string
	// RequiresDist lines, written in order.
	RequiresDist []string
	// ProvidesExtra lines, written in order.
	ProvidesExtra []string
	// ExtraMetadata holds additional "Key: value" header lines.
	ExtraMetadata []string
	// TopLevel lists top_level.txt entries; default is the importable name
	// derived from Name, and a module __init__.py is created for it unless
	// Files already supply one.
	TopLevel []string
	// ConsoleScripts maps script names to "module:function" entry points.
	ConsoleScripts map[string]string
	// Files are extra members, relative to the archive root.
	Files []WheelFile
	// Data are files under the .data directory.
	Data []DataFile
	// Purelib sets Root-Is-Purelib; nil means true.
	Purelib *bool
	// WheelVersion overrides the WHEEL file's Wheel-Version (default "1.0").
	WheelVersion string
	// Raw members are appended verbatim after everything else and are not
	// listed in RECORD; use them for hostile archives ("../evil", "/abs").
	Raw []WheelFile
	// OmitRecord leaves RECORD out entirely.
	OmitRecord bool
}

var sepRun = regexp.MustCompile(`[-_.]+`)

// Normalize returns the PEP 503 normalised form of a project name.
func Normalize(name string) string {
	return strings.ToLower(sepRun.ReplaceAllString(name, "-"))
}

func escapeDist(name string) string {
	return strings.ToLower(sepRun.ReplaceAllString(name, "_"))
}

// Filename returns the wheel filename for s, for example
// "foo_bar-1.0-py3-none-any.whl".
func (s WheelSpec) Filename() string {
	parts := []string{escapeDist(s.Name), strings.ReplaceAll(s.Version, "-", "_")}
	if s.Build != "" {
		parts = append(parts, s.Build)
	}
	return strings.Join(parts, "-") + "-" + s.tag() + ".whl"
}

func (s WheelSpec) tag() string {
	if s.Tag == "" {
		return "py3-none-any"
	}
	return s.Tag
}

// DistInfo returns the .dist-info directory name of the wheel.
func (s WheelSpec) DistInfo() string {
	return escapeDist(s.Name) + "-" + strings.ReplaceAll(s.Version, "-", "_") + ".dist-info"
}

// Metadata returns the METADATA file content for s.
func (s WheelSpec) Metadata() []byte {
	var b bytes.Buffer
	mv := s.MetadataVersion
	if mv == "" {
		mv = "2.1"
	}
	fmt.Fprintf(&b, "Metadata-Version: %s\nName: %s\nVersion: %s\n", mv, s.Name, s.Version)
	if s.Summary != "" {
		fmt.Fprintf(&b, "Summary: %s\n", s.Summary)
	}
	if s.RequiresPython != "" {
		fmt.Fprintf(&b, "Requires-Python: %s\n", s.RequiresPython)
	}
	for _, e := range s.ProvidesExtra {
		fmt.Fprintf(&b, "Provides-Extra: %s\n", e)
	}
	for _, r := range s.RequiresDist {
		fmt.Fprintf(&b, "Requires-Dist: %s\n", r)
	}
	for _, l := range s.ExtraMetadata {
		fmt.Fprintf(&b, "%s\n", l)
	}
	return b.Bytes()
}

func (s WheelSpec) wheelFile() []byte {
	wv := s.WheelVersion
	if wv == "" {
		wv = "1.0"
	}
	pure := s.Purelib == nil || *s.Purelib
	var b bytes.Buffer
	fmt.Fprintf(&b, "Wheel-Version: %s\nGenerator: hfpack-indextest\nRoot-Is-Purelib: %t\n", wv, pure)
	if s.Build != "" {
		fmt.Fprintf(&b, "Build: %s\n", s.Build)
	}
	for _, t := range expandTag(s.tag()) {
		fmt.Fprintf(&b, "Tag: %s\n", t)
	}
	return b.Bytes()
}

func expandTag(tag string) []string {
	f := strings.SplitN(tag, "-", 3)
	if len(f) != 3 {
		return []string{tag}
	}
	var out []string
	for _, py := range strings.Split(f[0], ".") {
		for _, abi := range strings.Split(f[1], ".") {
			for _, plat := range strings.Split(f[2], ".") {
				out = append(out, py+"-"+abi+"-"+plat)
			}
		}
	}
	return out
}

func (s WheelSpec) topLevel() []string {
	if s.TopLevel != nil {
		return s.TopLevel
	}
	return []string{escapeDist(s.Name)}
}

// members returns the RECORD-listed files in archive order.
func (s WheelSpec) members() []WheelFile {
	var files []WheelFile
	have := map[string]bool{}
	for _, f := range s.Files {
		have[f.Path] = true
	}
	for _, top := range s.topLevel() {
		p := top + "/__init__.py"
		if !have[p] && !have[top+".py"] {
			files = append(files, WheelFile{Path: p, Data: []byte(fmt.Sprintf("__version__ = %q\n", s.Version))})
		}
	}
	files = append(files, s.Files...)
	dataDir := strings.TrimSuffix(s.DistInfo(), ".dist-info") + ".data/"
	for _, d := range s.Data {
		files = append(files, WheelFile{Path: dataDir + d.Scheme + "/" + d.Path, Data: d.Data, Mode: d.Mode})
	}
	di := s.DistInfo() + "/"
	files = append(files,
		WheelFile{Path: di + "METADATA", Data: s.Metadata()},
		WheelFile{Path: di + "WHEEL", Data: s.wheelFile()},
		WheelFile{Path: di + "top_level.txt", Data: []byte(strings.Join(s.topLevel(), "\n") + "\n")},
	)
	if len(s.ConsoleScripts) > 0 {
		names := make([]string, 0, len(s.ConsoleScripts))
		for n := range s.ConsoleScripts {
			names = append(names, n)
		}
		sort.Strings(names)
		var b bytes.Buffer
		b.WriteString("[console_scripts]\n")
		for _, n := range names {
			fmt.Fprintf(&b, "%s = %s\n", n, s.ConsoleScripts[n])
		}
		files = append(files, WheelFile{Path: di + "entry_points.txt", Data: b.Bytes()})
	}
	return files
}

// RecordHash returns the RECORD-style hash of data: "sha256=" followed by
// the unpadded URL-safe base64 digest.
func RecordHash(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// BuildWheel returns the bytes of a wheel built from s. The same spec always
// gives the same bytes.
func BuildWheel(s WheelSpec) ([]byte, error) {
	if s.Name == "" || s.Version == "" {
		return nil, fmt.Errorf("building wheel: name and version are required")
	}
	files := s.members()
	var rec bytes.Buffer
	for _, f := range files {
		if strings.ContainsAny(f.Path, ",\"\n") {
			fmt.Fprintf(&rec, "%q,%s,%d\n", f.Path, RecordHash(f.Data), len(f.Data))
		} else {
			fmt.Fprintf(&rec, "%s,%s,%d\n", f.Path, RecordHash(f.Data), len(f.Data))
		}
	}
	fmt.Fprintf(&rec, "%s/RECORD,,\n", s.DistInfo())
	if !s.OmitRecord {
		files = append(files, WheelFile{Path: s.DistInfo() + "/RECORD", Data: rec.Bytes()})
	}
	files = append(files, s.Raw...)

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		if err := addMember(zw, f); err != nil {
			return nil, fmt.Errorf("building wheel %s: %w", s.Filename(), err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("building wheel %s: %w", s.Filename(), err)
	}
	return buf.Bytes(), nil
}

func addMember(zw *zip.Writer, f WheelFile) error {
	mode := f.Mode
	if mode == 0 {
		mode = 0o644
	}
	h := &zip.FileHeader{Name: f.Path, Method: zip.Deflate, Modified: ZipTime}
	h.SetMode(mode)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = w.Write(f.Data)
	return err
}

// MustBuildWheel is BuildWheel that panics on error, for test tables.
func MustBuildWheel(s WheelSpec) []byte {
	b, err := BuildWheel(s)
	if err != nil {
		panic(err)
	}
	return b
}

// WithCRC32 returns a copy of the zip archive whose member name records crc
// as its CRC-32, whatever its bytes are: a corrupt wheel for tests. The CRC
// goes into the local header, not a data descriptor, so archive/zip itself
// does not check a CRC-32 of 0 on reading.
func WithCRC32(archive []byte, name string, crc uint32) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	found := false
	for _, f := range zr.File {
		raw, err := f.OpenRaw()
		if err != nil {
			return nil, err
		}
		h := f.FileHeader
		if f.Name == name {
			h.CRC32, h.Flags, found = crc, h.Flags&^0x8, true
		}
		w, err := zw.CreateRaw(&h)
		if err != nil {
			return nil, err
		}
		if _, err := io.Copy(w, raw); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, fmt.Errorf("no member %q in the archive", name)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
