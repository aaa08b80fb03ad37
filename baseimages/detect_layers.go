package baseimages

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"
)

// LayerFacts is what one layer of a base says about its Python and its
// distribution: the interpreters it adds, the paths it deletes, its
// os-release. ScanLayer reads it from the layer's tar headers (and the
// os-release file's few bytes); callers cache it by layer digest.
type LayerFacts struct {
	// Pythons are the interpreters (pythonX.Y files or links) the layer
	// adds, as absolute paths, sorted.
	Pythons []string `json:"pythons,omitempty"`
	// Whiteouts are the absolute paths the layer deletes, sorted; a path
	// ending in "/" is an opaque directory (everything below is deleted).
	Whiteouts []string `json:"whiteouts,omitempty"`
	// OSRelease is the layer's /etc/os-release (or /usr/lib/os-release).
	OSRelease string `json:"os_release,omitempty"`
	// Libc is the versioned libc file name the layer adds (libc-2.31.so),
	// as older glibc releases ship it; "" when none.
	Libc string `json:"libc,omitempty"`
}

var (
	pythonBinRE = regexp.MustCompile(`^(?:usr/(?:local/)?)?bin/python(3\.\d+)$`)
	libcRE      = regexp.MustCompile(`^(?:usr/)?lib(?:64|/x86_64-linux-gnu)?/libc-(2\.\d+)\.so$`)
)

// maxOSRelease bounds the os-release file read from a layer.
const maxOSRelease = 64 << 10

// ScanLayer reads one uncompressed layer tar and returns its facts. Only
// headers are read, and the os-release file's content.
func ScanLayer(r io.Reader) (LayerFacts, error) {
	var f LayerFacts
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return LayerFacts{}, fmt.Errorf("reading layer: %w", err)
		}
		// Relative to the root; an entry for the root itself ("/", "./",
		// "..") names nothing to learn from.
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if name == "" {
			continue
		}
		dir, base := path.Split(name)
		switch {
		case base == ".wh..wh..opq":
			f.Whiteouts = append(f.Whiteouts, "/"+dir)
			continue
		case strings.HasPrefix(base, ".wh."):
			f.Whiteouts = append(f.Whiteouts, "/"+dir+strings.TrimPrefix(base, ".wh."))
			continue
		}
		switch {
		case pythonBinRE.MatchString(name) && (h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeLink):
			f.Pythons = append(f.Pythons, "/"+name)
		case (name == "etc/os-release" || name == "usr/lib/os-release") && h.Typeflag == tar.TypeReg:
			b, err := io.ReadAll(io.LimitReader(tr, maxOSRelease))
			if err != nil {
				return LayerFacts{}, fmt.Errorf("reading %s: %w", name, err)
			}
			if name == "etc/os-release" || f.OSRelease == "" {
				f.OSRelease = string(b)
			}
		case libcRE.MatchString(name):
			f.Libc = path.Base(name)
		}
	}
	slices.Sort(f.Pythons)
	slices.Sort(f.Whiteouts)
	return f, nil
}

// Detected is what a base's own files say, layers applied in order.
type Detected struct {
	// Pythons are the interpreters the image has, by major.minor; PATH
	// order decides between two of one version (/usr/local/bin first).
	Pythons map[string]string `json:"pythons,omitempty"`
	// OS, OSVersion and Glibc come from /etc/os-release (and the libc file
	// name); "" when unknown.
	OS        string `json:"os,omitempty"`
	OSVersion string `json:"os_version,omitempty"`
	Glibc     string `json:"glibc,omitempty"`
	// Evidence says where each fact came from, e.g. "/usr/bin/python3.11
	// in layer 1 of 1".
	Evidence []string `json:"evidence,omitempty"`
}

// DetectBase applies the layers' facts in order (later layers add and
// delete) and reads the interpreters and the distribution from the result.
func DetectBase(layers []LayerFacts) Detected {
	pythons := map[string]int{} // path -> layer index (1-based)
	osRelease, osLayer, libc := "", 0, ""
	for i, l := range layers {
		for _, w := range l.Whiteouts {
			for p := range pythons {
				if p == w || (strings.HasSuffix(w, "/") && strings.HasPrefix(p, w)) {
					delete(pythons, p)
				}
			}
			if w == "/etc/os-release" || w == "/etc/" {
				osRelease = ""
			}
		}
		for _, p := range l.Pythons {
			pythons[p] = i + 1
		}
		if l.OSRelease != "" {
			osRelease, osLayer = l.OSRelease, i+1
		}
		if l.Libc != "" {
			libc = l.Libc
		}
	}
	d := Detected{}
	paths := make([]string, 0, len(pythons))
	for p := range pythons {
		paths = append(paths, p)
	}
	// PATH order: /usr/local/bin before /usr/bin before /bin.
	slices.SortFunc(paths, func(a, b string) int {
		if c := pathRank(a) - pathRank(b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	for _, p := range paths {
		v := pythonBinRE.FindStringSubmatch(strings.TrimPrefix(p, "/"))[1]
		if d.Pythons == nil {
			d.Pythons = map[string]string{}
		}
		if _, ok := d.Pythons[v]; !ok {
			d.Pythons[v] = p
			d.Evidence = append(d.Evidence, fmt.Sprintf("%s in layer %d of %d", p, pythons[p], len(layers)))
		}
	}
	if osRelease != "" {
		id, ver := osReleaseField(osRelease, "ID"), osReleaseField(osRelease, "VERSION_ID")
		for _, r := range glibcByOS {
			if r.os == id && r.version == ver {
				d.OS, d.OSVersion, d.Glibc = r.os, r.version, r.glibc
				d.Evidence = append(d.Evidence, fmt.Sprintf("/etc/os-release in layer %d: %s %s, whose glibc is %s", osLayer, id, ver, r.glibc))
			}
		}
		if d.OS == "" && id != "" {
			d.OS, d.OSVersion = id, ver
		}
	}
	if m := regexp.MustCompile(`^libc-(2\.\d+)\.so$`).FindStringSubmatch(libc); m != nil && d.Glibc == "" {
		d.Glibc = m[1]
		d.Evidence = append(d.Evidence, "glibc "+m[1]+" from "+libc)
	}
	return d
}

func pathRank(p string) int {
	switch {
	case strings.HasPrefix(p, "/usr/local/bin/"):
		return 0
	case strings.HasPrefix(p, "/usr/bin/"):
		return 1
	}
	return 2
}

// osReleaseField reads KEY=value (quotes removed) from os-release text.
func osReleaseField(s, key string) string {
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+"="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}
