package publish_test

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/hfpack/hfpack/builder/publish"
)

func ExampleParse() {
	for _, s := range []string{"oci:out/image", "docker-archive:image.tar:example.com/tiny:v1", "registry:europe-west4-docker.pkg.dev/p/r/tiny:v1"} {
		t, err := publish.Parse(s)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s path=%q ref=%q\n", t.Kind, t.Path, t.Ref)
	}
	// Output:
	// oci path="out/image" ref=""
	// docker-archive path="image.tar" ref="example.com/tiny:v1"
	// registry path="" ref="europe-west4-docker.pkg.dev/p/r/tiny:v1"
}

// An SBOM travels with the image as an OCI artifact referring to it.
func ExampleNewReferrer() {
	img := empty.Image // the built image
	sbom := []byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[]}`)
	art, err := publish.NewReferrer(img, "application/vnd.cyclonedx+json", sbom, "sbom.cdx.json")
	if err != nil {
		panic(err)
	}
	m, err := art.Manifest()
	if err != nil {
		panic(err)
	}
	imgDigest, _ := img.Digest()
	// Then: publish.Publish(ctx, img, target, publish.WithReferrers(art))
	fmt.Println(m.ArtifactType, m.Config.MediaType, len(m.Layers), m.Subject.Digest == imgDigest)
	// Output:
	// application/vnd.cyclonedx+json application/vnd.oci.empty.v1+json 1 true
}
