package sbom_test

import (
	"fmt"

	"github.com/hfpack/hfpack/builder/sbom"
)

func ExamplePURL() {
	fmt.Println(sbom.PURL("Typing_Extensions", "4.12.2", ""))
	fmt.Println(sbom.PURL("torch", "2.3.0+cu121", "torch-2.3.0+cu121-cp311-cp311-linux_x86_64.whl"))
	// Output:
	// pkg:pypi/typing-extensions@4.12.2
	// pkg:pypi/torch@2.3.0%2Bcu121?file_name=torch-2.3.0%2Bcu121-cp311-cp311-linux_x86_64.whl
}
