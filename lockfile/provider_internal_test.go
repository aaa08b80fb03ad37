package lockfile

import (
	"strings"
	"testing"
)

func TestSdistVersion(t *testing.T) {
	for _, tc := range []struct {
		project, filename, want string
		ok                      bool
	}{
		{"legacy-pkg", "legacy_pkg-0.3.tar.gz", "0.3", true},
		{"Legacy.Pkg", "Legacy-Pkg-1.0rc1.zip", "1.0rc1", true},
		{"torch", "torch-2.4.1+cu121.tar.gz", "2.4.1+cu121", true},
		{"pkg", "pkg-1.0.TAR.GZ", "1.0", true},
		{"pkg", "other-1.0.tar.gz", "", false},     // another project's file
		{"pkg", "pkg-utils-1.0.tar.gz", "", false}, // a longer name is another project
		{"pkg", "pkg-1.0.exe", "", false},
		{"pkg", "pkg.tar.gz", "", false},
		{"pkg", "pkg-not a version.tar.gz", "", false},
	} {
		v, ok := sdistVersion(tc.project, tc.filename)
		if ok != tc.ok || ok && v.String() != tc.want {
			t.Errorf("sdistVersion(%q, %q) = %v, %v; want %s, %v", tc.project, tc.filename, v, ok, tc.want, tc.ok)
		}
	}
}

func FuzzSdistVersion(f *testing.F) {
	for _, s := range []string{"pkg-1.0.tar.gz", "pkg-.tar.gz", "-1.0.zip", "pkg-1.0-1.0.tar.gz", ".tar.gz", "pkg-1!2.0+local.tgz", "\x00-1.tar", strings.Repeat("a-", 500) + "1.zip"} {
		f.Add("pkg", s)
	}
	f.Fuzz(func(t *testing.T, project, filename string) {
		v, ok := sdistVersion(project, filename)
		if ok && v.IsZero() {
			t.Errorf("sdistVersion(%q, %q) accepted a zero version", project, filename)
		}
	})
}
