package builder

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// A base with Pull set is fetched from the mirror by the pinned digest,
// never from Ref's registry; the wrong digest is refused there too.
func TestResolveBaseFromMirror(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	mirror := host + "/dockerhub/nvidia/cuda"
	ref, err := name.ParseReference(mirror + ":12.1.1-base-ubuntu22.04")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	b := Base{Ref: "docker.io/nvidia/cuda:12.1.1-base-ubuntu22.04@" + d.String(), Digest: d.String(), Pull: mirror}
	got, err := ResolveBase(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if gd, _ := got.Digest(); gd != d {
		t.Errorf("resolved %s, want %s", gd, d)
	}
	b.Digest = "sha256:" + strings.Repeat("0", 64)
	if _, err := ResolveBase(context.Background(), b); err == nil {
		t.Errorf("a digest the mirror does not have resolved")
	}
}
