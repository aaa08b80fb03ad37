package e2e

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/hfpack/hfpack/e2e/harness"
)

// invocation is one hfpack command found in a pipeline file: a shell line, or an argv when the
// pipeline calls hfpack without a shell.
type invocation struct {
	where string   // step name, for messages
	shell string   // a bash command line; "" when argv is set
	argv  []string // hfpack's arguments, without the program
}

// subcommand is hfpack's first argument in the invocation.
func (inv invocation) subcommand() string {
	if inv.argv != nil {
		return inv.argv[0]
	}
	f := strings.Fields(inv.shell[strings.Index(inv.shell, "hfpack"):])
	return f[1]
}

// shellCommands splits a run script into commands, joining backslash-continued lines.
func shellCommands(script string) []string {
	joined := strings.ReplaceAll(script, "\\\n", " ")
	var out []string
	for _, l := range strings.Split(joined, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// hfpackLine matches a command that runs hfpack (by name or by path), not `go install .../hfpack`.
var hfpackLine = regexp.MustCompile(`^(\S*/)?hfpack\s`)

// githubInvocations extracts the hfpack commands of a GitHub Actions workflow, in step order,
// and its top-level env.
func githubInvocations(t *testing.T, path string) ([]invocation, map[string]string) {
	t.Helper()
	var wf struct {
		Env  map[string]string `yaml:"env"`
		Jobs map[string]struct {
			Steps []struct {
				Name string `yaml:"name"`
				Run  string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	readYAML(t, path, &wf)
	var out []invocation
	for _, job := range mapsKeys(wf.Jobs) {
		for _, s := range wf.Jobs[job].Steps {
			for _, c := range shellCommands(s.Run) {
				if hfpackLine.MatchString(c) {
					out = append(out, invocation{where: job + "/" + s.Name, shell: c})
				}
			}
		}
	}
	return out, wf.Env
}

// cloudBuildInvocations extracts the hfpack commands of a Cloud Build config, in step order, and
// its substitutions.
func cloudBuildInvocations(t *testing.T, path string) ([]invocation, map[string]string) {
	t.Helper()
	var cb struct {
		Substitutions map[string]string `yaml:"substitutions"`
		Steps         []struct {
			ID         string   `yaml:"id"`
			Entrypoint string   `yaml:"entrypoint"`
			Args       []string `yaml:"args"`
		} `yaml:"steps"`
	}
	readYAML(t, path, &cb)
	var out []invocation
	for _, s := range cb.Steps {
		switch {
		case filepath.Base(s.Entrypoint) == "hfpack":
			out = append(out, invocation{where: s.ID, argv: s.Args})
		case s.Entrypoint == "bash" || s.Entrypoint == "sh":
			if len(s.Args) != 2 || s.Args[0] != "-c" {
				t.Fatalf("%s: step %s: want args [-c, SCRIPT], got %q", path, s.ID, s.Args)
			}
			for _, c := range shellCommands(s.Args[1]) {
				if hfpackLine.MatchString(c) {
					out = append(out, invocation{where: s.ID, shell: c})
				}
			}
		}
	}
	return out, cb.Substitutions
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
}

// mapsKeys returns m's keys, sorted.
func mapsKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// TestPipelineFiles runs every hfpack command of examples/ci's GitHub Actions workflow and Cloud
// Build config, in order, against a copy of the example, with Artifact Registry replaced by the
// harness registry and PyPI by the local index: a renamed flag or subcommand fails here, not in a
// user's pipeline.
func TestPipelineFiles(t *testing.T) {
	heavy(t)
	reg := harness.StartRegistry(t)
	ix := startIndex(t)
	base := baseLayout(t)
	bin := binDir(t)
	wantSteps := []string{"lock", "check", "build", "vertex-spec"}

	t.Run("github-actions", func(t *testing.T) {
		invs, env := githubInvocations(t, filepath.Join(repoRoot, "examples", "ci", "github-actions.yml"))
		p := newProject(t, ix, base)
		mustHfpack(t, p.Dir, nil, "lock", p.Manifest) // the committed lock the pipeline checks
		vars := []string{"PATH=" + bin + ":" + os.Getenv("PATH")}
		for _, k := range mapsKeys(env) {
			v := env[k]
			switch k {
			case "REGION":
				v = "e2e-region"
			case "PROJECT":
				v = "e2e-project"
			case "REPOSITORY":
				v = "models"
			}
			if strings.Contains(v, "${{") {
				t.Fatalf("env %s=%q: no stand-in for this GitHub expression", k, v)
			}
			vars = append(vars, k+"="+v)
		}
		// Artifact Registry's host becomes the harness registry.
		host := regexp.MustCompile(`"?\$\{?REGION\}?-docker\.pkg\.dev`)
		var seen []string
		for _, inv := range invs {
			line := host.ReplaceAllString(inv.shell, `"`+reg.Addr)
			runPipelineLine(t, p.Dir, vars, inv.where, line)
			seen = append(seen, inv.subcommand())
		}
		if diff := cmp.Diff(wantSteps, seen); diff != "" {
			t.Errorf("hfpack steps of the workflow (-want +got):\n%s", diff)
		}
		checkPublished(t, p.Dir, filepath.Join(p.Dir, "image.digest"), filepath.Join(p.Dir, "container-spec.json"), reg.Addr+"/e2e-project/models/")
	})

	t.Run("cloudbuild", func(t *testing.T) {
		invs, subst := cloudBuildInvocations(t, filepath.Join(repoRoot, "examples", "ci", "cloudbuild.yaml"))
		p := newProject(t, ix, base)
		mustHfpack(t, p.Dir, nil, "lock", p.Manifest)
		// Cloud Build's /workspace is the checkout; ${PROJECT_ID} is built in.
		subst["PROJECT_ID"] = "e2e-project"
		expand := func(s string) string {
			s = strings.ReplaceAll(s, "${_REGION}-docker.pkg.dev", reg.Addr)
			s = strings.ReplaceAll(s, "/workspace/bin/hfpack", filepath.Join(bin, "hfpack"))
			s = strings.ReplaceAll(s, "/workspace", p.Dir)
			return regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllStringFunc(s, func(m string) string {
				k := m[2 : len(m)-1]
				v, ok := subst[k]
				if !ok {
					t.Fatalf("no substitution for %s", m)
				}
				return v
			})
		}
		var seen []string
		for _, inv := range invs {
			seen = append(seen, inv.subcommand())
			if inv.shell != "" {
				runPipelineLine(t, p.Dir, nil, inv.where, expand(inv.shell))
				continue
			}
			args := make([]string, len(inv.argv))
			for i, a := range inv.argv {
				args[i] = expand(a)
			}
			mustHfpack(t, p.Dir, nil, args...)
		}
		if diff := cmp.Diff(wantSteps, seen); diff != "" {
			t.Errorf("hfpack steps of the Cloud Build config (-want +got):\n%s", diff)
		}
		checkPublished(t, p.Dir, filepath.Join(p.Dir, "image.digest"), filepath.Join(p.Dir, "container-spec.json"),
			reg.Addr+"/e2e-project/"+subst["_REPOSITORY"]+"/"+subst["_NAME"]+"@")
	})
}

// runPipelineLine runs one pipeline command with bash -euo pipefail in dir, failing the test
// unless it exits 0.
func runPipelineLine(t *testing.T, dir string, env []string, where, line string) {
	t.Helper()
	r := runTool(t, "/bin/bash", dir, env, "-euo", "pipefail", "-c", line)
	if r.code != 0 {
		t.Fatalf("step %q: %s\n%v", where, line, r)
	}
}

// checkPublished checks what the pipeline hands to gcloud: the digest file holds the pushed
// image by digest, and the container spec names that image and the routes and port gcloud reads.
func checkPublished(t *testing.T, dir, digestFile, specFile, prefix string) {
	t.Helper()
	ref := readDigestFile(t, digestFile, prefix)
	raw, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatalf("the pipeline's vertex-spec output: %v", err)
	}
	var spec struct {
		ImageURI     string `json:"imageUri"`
		PredictRoute string `json:"predictRoute"`
		HealthRoute  string `json:"healthRoute"`
		Ports        []struct {
			ContainerPort int `json:"containerPort"`
		} `json:"ports"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatalf("container spec: %v\n%s", err, raw)
	}
	if spec.ImageURI != ref {
		t.Errorf("container spec imageUri %q, want the pushed digest reference %q", spec.ImageURI, ref)
	}
	if spec.PredictRoute == "" || spec.HealthRoute == "" || len(spec.Ports) == 0 || spec.Ports[0].ContainerPort == 0 {
		t.Errorf("container spec lacks a field gcloud reads (predictRoute, healthRoute, ports[0].containerPort):\n%s", raw)
	}
}
