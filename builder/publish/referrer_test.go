package publish

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const cdx types.MediaType = "application/vnd.cyclonedx+json"

var sbomJSON = []byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[]}` + "\n")

func testReferrer(t *testing.T, img v1.Image) v1.Image {
	t.Helper()
	art, err := NewReferrer(img, cdx, sbomJSON, "sbom.cdx.json")
	if err != nil {
		t.Fatal(err)
	}
	return art
}

func TestNewReferrer(t *testing.T) {
	img := testImage(t)
	art := testReferrer(t, img)
	m, err := art.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	imgDesc := descriptorOf(t, img)
	want := &v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  string(cdx),
		Config: v1.Descriptor{MediaType: types.OCIEmptyJSON, Size: 2, Data: []byte("{}"),
			Digest: mustHash(t, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")},
		Layers: []v1.Descriptor{{MediaType: cdx, Size: int64(len(sbomJSON)), Digest: sha(t, sbomJSON),
			Annotations: map[string]string{"org.opencontainers.image.title": "sbom.cdx.json"}}},
		Subject: &v1.Descriptor{MediaType: imgDesc.MediaType, Size: imgDesc.Size, Digest: imgDesc.Digest},
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("NewReferrer() manifest (-want +got):\n%s", diff)
	}
	if d1, d2 := digestOf(t, art), digestOf(t, testReferrer(t, img)); d1 != d2 {
		t.Errorf("NewReferrer() twice gives digests %s and %s, want the same", d1, d2)
	}
}

// The SBOM is found from the image digest alone, on registries with and
// without the OCI 1.1 referrers API (where ggcr keeps the sha256-<hex> tag).
func TestPushReferrers(t *testing.T) {
	for _, api := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers API", false: "fallback tag"}[api], func(t *testing.T) {
			s := httptest.NewServer(registry.New(registry.Logger(nopLogger()), registry.WithReferrersSupport(api)))
			defer s.Close()
			img := testImage(t)
			art := testReferrer(t, img)
			ch := make(chan v1.Update, 100)
			go func() {
				for range ch {
				}
			}()
			ref := host(t, s) + "/hf/tiny:v1"
			digest, err := Publish(context.Background(), img, Target{Kind: Registry, Ref: ref}, anon(), WithProgress(ch), WithReferrers(art))
			if err != nil {
				t.Fatal(err)
			}
			r, err := name.ParseReference(ref)
			if err != nil {
				t.Fatal(err)
			}
			sub := r.Context().Digest(digest.String())
			idx, err := remote.Referrers(sub)
			if err != nil {
				t.Fatal(err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			// ggcr's in-process registry reports the config media type as
			// the artifactType (pkg/registry/manifest.go), not the
			// manifest's artifactType: the digest is what identifies it.
			if len(im.Manifests) != 1 || im.Manifests[0].Digest != digestOf(t, art) {
				t.Fatalf("referrers of %s = %+v, want the SBOM %s", sub, im.Manifests, digestOf(t, art))
			}
			if !api && im.Manifests[0].ArtifactType != string(cdx) {
				t.Errorf("fallback tag lists artifactType %q, want %q", im.Manifests[0].ArtifactType, cdx)
			}
			got := pullSBOM(t, sub.Context().Digest(im.Manifests[0].Digest.String()))
			if diff := cmp.Diff(string(sbomJSON), got); diff != "" {
				t.Errorf("pulled SBOM (-want +got):\n%s", diff)
			}
			_, err = remote.Index(sub.Context().Tag("sha256-" + digest.Hex))
			if api && err == nil {
				t.Error("a registry with the referrers API got a fallback tag")
			}
			if !api && err != nil {
				t.Errorf("fallback tag sha256-%s: %v", digest.Hex, err)
			}
		})
	}
}

func pullSBOM(t *testing.T, d name.Digest) string {
	t.Helper()
	a, err := remote.Image(d)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := a.Layers()
	if err != nil || len(ls) != 1 {
		t.Fatalf("artifact layers %v, %v: want one", ls, err)
	}
	rc, err := ls[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// In an OCI layout the artifact sits beside the image in index.json, with
// its artifactType and no ref name, as oras expects.
func TestOCILayoutReferrers(t *testing.T) {
	img := testImage(t)
	art := testReferrer(t, img)
	dir := filepath.Join(t.TempDir(), "out")
	if _, err := Publish(context.Background(), img, Target{Kind: OCI, Path: dir}, WithReferrers(art)); err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	ii, _ := p.ImageIndex()
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	artDesc := descriptorOf(t, art)
	artDesc.ArtifactType = string(cdx)
	imgDesc := descriptorOf(t, img)
	if len(im.Manifests) != 2 {
		t.Fatalf("index.json lists %d manifests, want the image and the SBOM", len(im.Manifests))
	}
	if got := im.Manifests[0]; got.Digest != imgDesc.Digest || got.Annotations["org.opencontainers.image.ref.name"] != "latest" {
		t.Errorf("index.json manifests[0] = %+v, want the image %s named latest", got, imgDesc.Digest)
	}
	if diff := cmp.Diff(artDesc, im.Manifests[1]); diff != "" {
		t.Errorf("index.json manifests[1] (-want +got):\n%s", diff)
	}
	back, err := p.Image(artDesc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := back.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject == nil || m.Subject.Digest != imgDesc.Digest {
		t.Errorf("artifact subject %+v, want %s", m.Subject, imgDesc.Digest)
	}
	ls, _ := back.Layers()
	if len(ls) != 1 {
		t.Fatalf("artifact has %d layers, want 1", len(ls))
	}
	rc, err := ls[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != string(sbomJSON) {
		t.Errorf("SBOM in the layout = %q, want %q", b, sbomJSON)
	}
}

func TestReferrerOfAnotherImage(t *testing.T) {
	other := testReferrer(t, testImage(t))
	for _, tg := range []Target{{Kind: OCI, Path: filepath.Join(t.TempDir(), "out")}, {Kind: Registry, Ref: "127.0.0.1:1/x:y"}} {
		if _, err := Publish(context.Background(), testImage(t), tg, anon(), WithReferrers(other)); !errors.Is(err, ErrNotReferrer) {
			t.Errorf("Publish(%s) with another image's referrer = %v, want ErrNotReferrer", tg, err)
		}
	}
}

// A push that fails before it starts still closes the progress channel, so
// a caller ranging over it does not hang.
func TestProgressClosedOnEarlyFailure(t *testing.T) {
	for name, opt := range map[string]Option{
		"bad referrer":    WithReferrers(testReferrer(t, testImage(t))),
		"bad option":      WithJobs(0),
		"bad combination": WithTokenSource(&fakeTokenSource{}),
	} {
		t.Run(name, func(t *testing.T) {
			ch := make(chan v1.Update, 1)
			if _, err := Publish(context.Background(), testImage(t), Target{Kind: Registry, Ref: "127.0.0.1:1/x:y"}, opt, WithProgress(ch), anon()); err == nil {
				t.Fatal("Publish() = nil error")
			}
			select {
			case _, open := <-ch:
				if open {
					t.Error("progress channel got an update, want it closed")
				}
			default:
				t.Error("progress channel left open after Publish returned")
			}
		})
	}
}

func descriptorOf(t *testing.T, img v1.Image) v1.Descriptor {
	t.Helper()
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	size, err := img.Size()
	if err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: mt, Size: size, Digest: digestOf(t, img)}
}

func digestOf(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustHash(t *testing.T, s string) v1.Hash {
	t.Helper()
	h, err := v1.NewHash(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func sha(t *testing.T, b []byte) v1.Hash {
	t.Helper()
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return h
}
