package harness

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestRegistryServesWhatWasPushed(t *testing.T) {
	reg := StartRegistry(t)
	img, err := random.Image(1024, 3)
	if err != nil {
		t.Fatal(err)
	}
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	tag := reg.Repository("e2e/random").Tag("v1")
	if err := remote.Write(tag, img); err != nil {
		t.Fatalf("remote.Write(%s) = %v", tag, err)
	}
	got, err := remote.Image(reg.Repository("e2e/random").Digest(want.String()))
	if err != nil {
		t.Fatalf("pulling by digest: %v", err)
	}
	ls, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 3 {
		t.Errorf("pulled image has %d layers, want 3", len(ls))
	}
	desc, err := remote.Head(tag)
	if err != nil {
		t.Fatalf("HEAD %s: %v", tag, err)
	}
	if desc.Digest != want {
		t.Errorf("tag %s resolves to %s, want %s", tag, desc.Digest, want)
	}
	if got, want := reg.Ref("e2e/random", ":v1"), reg.Addr+"/e2e/random:v1"; got != want {
		t.Errorf("Ref = %q, want %q", got, want)
	}
}
