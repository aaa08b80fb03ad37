package pep508_test

import (
	"fmt"

	"github.com/hfpack/hfpack/python/pep508"
)

func ExampleParseRequirement() {
	r, err := pep508.ParseRequirement(`Transformers[torch]>=4.40,<5 ; python_version >= "3.9"`)
	if err != nil {
		panic(err)
	}
	env := pep508.LinuxEnvironment("3.11.10", "x86_64")
	fmt.Println(r.NormalizedName(), r.Extras, r.Specifier, r.Marker.Evaluate(env))

	_, err = pep508.ParseRequirement("torch >= 2.4 ; sys_platform = 'linux'")
	fmt.Println(err)
	// Output:
	// transformers [torch] <5,>=4.40 true
	// parsing "torch >= 2.4 ; sys_platform = 'linux'": column 29: expected a comparison operator (==, !=, <, <=, >, >=, ~=, ===, in, not in), found "= 'linux…"
}
