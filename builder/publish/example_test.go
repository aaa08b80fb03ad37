package publish_test

import (
	"fmt"

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
