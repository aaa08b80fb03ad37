package harness

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// debootstrap installs spec's packages into dir (which must not exist or be empty) from the
// mirror, as root.
func debootstrap(ctx context.Context, spec BaseSpec, dir string) error {
	args := []string{
		"--variant=minbase",
		"--components=main",
		"--include=" + strings.Join(spec.Packages, ","),
		spec.Suite, dir, spec.Mirror,
	}
	if _, err := runLogged(ctx, "debootstrap", args...); err != nil {
		return err
	}
	return nil
}

// trimGlobs are removed from the rootfs after debootstrap, as Debian's slim images do: docs (but
// not copyright files), manuals, locales, apt lists and caches, logs and host-specific files.
var trimGlobs = []string{
	"usr/share/man/*", "usr/share/info/*", "usr/share/groff/*", "usr/share/lintian/*",
	"usr/share/linda/*", "usr/share/locale/*",
	"var/lib/apt/lists/*", "var/cache/apt/*", "var/cache/debconf/*-old", "var/lib/dpkg/*-old",
	"var/cache/ldconfig/aux-cache", "var/log/*",
	"etc/resolv.conf", "etc/hostname", "etc/machine-id",
	"dev/*", "proc/*", "sys/*", "run/*", "tmp/*",
}

// trimRootfs removes trimGlobs and every file under usr/share/doc except copyright files.
func trimRootfs(root string) error {
	for _, g := range trimGlobs {
		matches, err := filepath.Glob(filepath.Join(root, g))
		if err != nil {
			return err
		}
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return fmt.Errorf("trimming the rootfs: %w", err)
			}
		}
	}
	doc := filepath.Join(root, "usr/share/doc")
	return filepath.WalkDir(doc, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "copyright" {
			return err
		}
		return os.Remove(p)
	})
}

// compilePython replaces the rootfs's .pyc files with unchecked-hash ones: the layer resets every
// mtime, which would make timestamp-checked .pyc files stale on every start.
func compilePython(ctx context.Context, root string) error {
	err := filepath.WalkDir(filepath.Join(root, "usr/lib"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "__pycache__" {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("removing stale .pyc files: %w", err)
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "usr/lib/python3*"))
	for _, d := range dirs {
		rel := "/" + strings.TrimPrefix(d, root+"/")
		_, err := runLogged(ctx, "chroot", root, "/usr/bin/python3", "-m", "compileall", "-q",
			"--invalidation-mode", "unchecked-hash", rel)
		if err != nil {
			return fmt.Errorf("compiling the base's Python files: %w", err)
		}
	}
	return nil
}

// dpkgVersions reads the installed versions of the named packages from the rootfs's dpkg database.
func dpkgVersions(root string, pkgs ...string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(root, "var/lib/dpkg/status"))
	if err != nil {
		return nil, fmt.Errorf("reading the base's dpkg status: %w", err)
	}
	defer f.Close()
	want := map[string]bool{}
	for _, p := range pkgs {
		want[p] = true
	}
	got := map[string]string{}
	var pkg string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			pkg = ""
		case strings.HasPrefix(line, "Package: "):
			pkg = strings.TrimPrefix(line, "Package: ")
		case strings.HasPrefix(line, "Version: ") && want[pkg]:
			got[pkg] = strings.TrimPrefix(line, "Version: ")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the base's dpkg status: %w", err)
	}
	for _, p := range pkgs {
		if got[p] == "" {
			return nil, fmt.Errorf("package %s is not installed in the base", p)
		}
	}
	return got, nil
}

var majorMinor = regexp.MustCompile(`^(?:\d+:)?(\d+\.\d+)`)

// upstreamMajorMinor returns "3.11" for the Debian version "3.11.2-1+b1" (an epoch is dropped).
func upstreamMajorMinor(debVersion string) string {
	m := majorMinor.FindStringSubmatch(debVersion)
	if m == nil {
		return ""
	}
	return m[1]
}

// aptMirror returns the first Debian mirror named in this machine's apt sources for suite, or
// Debian's default mirror.
func aptMirror(suite string) string {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*")
	files = append([]string{"/etc/apt/sources.list"}, files...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if m := mirrorIn(string(b), suite); m != "" {
			return m
		}
	}
	return "http://deb.debian.org/debian"
}

// mirrorIn finds, in one-line ("deb URL SUITE ...") or deb822 sources, the URI of the stanza
// whose suites include suite and whose URI looks like a Debian archive (not a security mirror).
func mirrorIn(sources, suite string) string {
	for _, stanza := range strings.Split(sources, "\n\n") {
		var uris, suites []string
		for _, line := range strings.Split(stanza, "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) >= 3 && f[0] == "deb" && !strings.HasPrefix(f[1], "["):
				if f[2] == suite && isDebianArchive(f[1]) {
					return strings.TrimSuffix(f[1], "/")
				}
			case len(f) >= 2 && f[0] == "URIs:":
				uris = f[1:]
			case len(f) >= 2 && f[0] == "Suites:":
				suites = f[1:]
			}
		}
		for _, s := range suites {
			if s == suite {
				for _, u := range uris {
					if isDebianArchive(u) {
						return strings.TrimSuffix(u, "/")
					}
				}
			}
		}
	}
	return ""
}

func isDebianArchive(uri string) bool {
	return strings.HasPrefix(uri, "http") && strings.HasSuffix(strings.TrimSuffix(uri, "/"), "/debian")
}
