package publish

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Target
	}{
		{"oci:out", Target{Kind: OCI, Path: "out"}},
		{"oci:/tmp/out:v1", Target{Kind: OCI, Path: "/tmp/out", Ref: "v1"}},
		{"docker-archive:img.tar", Target{Kind: DockerArchive, Path: "img.tar"}},
		{"docker-archive:/x/img.tar:example.com/m:1", Target{Kind: DockerArchive, Path: "/x/img.tar", Ref: "example.com/m:1"}},
		{"registry:127.0.0.1:5000/repo/img:tag", Target{Kind: Registry, Ref: "127.0.0.1:5000/repo/img:tag"}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tc.in, diff)
			}
			back, err := Parse(got.String())
			if err != nil || back != got {
				t.Errorf("Parse(%q.String()) = %+v, %v, want %+v", got, back, err, got)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "oci", "oci:", "tar:x", "registry:UPPER/Case", "registry:", "docker-archive:x.tar:Bad Tag", "docker-archive:dir/", "oci:x:", "oci:\x00"} {
		if _, err := Parse(in); !errors.Is(err, ErrBadTarget) {
			t.Errorf("Parse(%q) = %v, want ErrBadTarget", in, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"oci:out", "oci:a:b:c", "docker-archive::", "docker-archive:/a/b:c/d:e", "registry:a/b@sha256:00", "registry:localhost:5000/x", ":", "oci:/:x", "docker-archive:x.tar:", "oci:\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		if err != nil {
			return
		}
		back, err := Parse(got.String())
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, but Parse(%q) = %v", s, got, got.String(), err)
		}
		if back != got {
			t.Fatalf("round trip of %q: %+v, then %+v", s, got, back)
		}
	})
}
