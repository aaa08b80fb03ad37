package harness

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestBaseImageLabelsAndPush(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Debian rootfs (minutes when uncached)")
	}
	b := Base(t, DefaultBase())
	cf, err := b.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{LabelPython: "3.11", LabelGlibc: "2.36", LabelSuite: "bookworm"}
	if diff := cmp.Diff(want, cf.Config.Labels); diff != "" {
		t.Errorf("base labels (-want +got):\n%s", diff)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("base platform = %s/%s, want linux/amd64", cf.OS, cf.Architecture)
	}

	reg := StartRegistry(t)
	ref := b.Push(t, reg, "base/python")
	got, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("pulling %s back: %v", ref, err)
	}
	d, err := got.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if d != b.Digest {
		t.Errorf("pulled digest = %s, want the pushed %s", d, b.Digest)
	}
}
