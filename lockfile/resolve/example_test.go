package resolve_test

import (
	"context"
	"fmt"

	"github.com/hfpack/hfpack/lockfile/resolve"
	"github.com/hfpack/hfpack/python/pep440"
	"github.com/hfpack/hfpack/python/pep508"
)

// staticProvider serves fixed projects: name -> version -> Requires-Dist.
type staticProvider map[string]map[string][]string

func (p staticProvider) Versions(_ context.Context, name string) ([]resolve.Candidate, error) {
	var out []resolve.Candidate
	for v := range p[name] {
		out = append(out, resolve.Candidate{Version: pep440.MustParseVersion(v), Artifact: name + "-" + v + "-py3-none-any.whl"})
	}
	return out, nil // the resolver sorts
}

func (p staticProvider) Dependencies(_ context.Context, name string, c resolve.Candidate) (resolve.Dependencies, error) {
	return resolve.ParseDependencies(p[name][c.Version.Original()], "", nil)
}

func Example() {
	index := staticProvider{
		"transformers": {"4.46.1": {"tokenizers<0.21,>=0.20"}},
		"tokenizers":   {"0.21.0": nil, "0.20.3": nil},
	}
	env := pep508.LinuxEnvironment("3.11.10", "x86_64")
	reqs := []pep508.Requirement{pep508.MustParseRequirement("transformers==4.46.1")}
	res, err := resolve.Resolve(context.Background(), index, reqs, env)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range res.Packages {
		fmt.Println(p.Name, p.Version, p.Candidate.Artifact)
	}

	reqs = append(reqs, pep508.MustParseRequirement("tokenizers==0.21.0"))
	_, err = resolve.Resolve(context.Background(), index, reqs, env)
	fmt.Println(err)
	// Output:
	// tokenizers 0.20.3 tokenizers-0.20.3-py3-none-any.whl
	// transformers 4.46.1 transformers-4.46.1-py3-none-any.whl
	// no solution for the requirements:
	//   transformers 4.46.1 requires tokenizers<0.21,>=0.20, but tokenizers==0.21.0 was requested
}
