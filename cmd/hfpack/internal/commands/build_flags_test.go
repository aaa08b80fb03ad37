package commands

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// Every flag of `hfpack build` either works with a builder or is refused
// with a usage error when set with it. A flag added without a decision in
// buildFlagBuilders (and a sample value here) fails this test.
func TestEveryBuildFlagIsDecidedForEachBuilder(t *testing.T) {
	dir := t.TempDir()
	samples := map[string]string{
		"output":              "oci:" + filepath.Join(dir, "out"),
		"push":                "127.0.0.1:1/x:y",
		"digest-file":         filepath.Join(dir, "digest"),
		"plan":                "true",
		"cache-dir":           filepath.Join(dir, "cache"),
		"sidecar":             filepath.Join(dir, "hfpack-sidecar"),
		"code-compression":    "zstd",
		"weights-compression": "zstd",
		"emit-llb":            filepath.Join(dir, "llb.pb"),
		"builder":             "", // set per builder below
		"buildkit-addr":       "tcp://127.0.0.1:1",
		"sbom":                "false",
		"verify":              "sha256:" + strings.Repeat("0", 64),
	}
	var build *pflag.FlagSet
	for _, c := range New(nil, nil).Commands() {
		if c.Name() == "build" {
			build = c.LocalFlags() // --json and --quiet are every command's
		}
	}
	var flags []string
	build.VisitAll(func(f *pflag.Flag) {
		flags = append(flags, f.Name)
		if _, ok := buildFlagBuilders[f.Name]; !ok {
			t.Errorf("--%s: no decision in buildFlagBuilders: make it work with both builders or list the one it works with", f.Name)
		}
		if _, ok := samples[f.Name]; !ok {
			t.Errorf("--%s: no sample value in this test", f.Name)
		}
	})
	missing := filepath.Join(dir, "missing", "hfpack.toml")
	// Global flags are not the builder's business.
	if code, _, stderr := run(t, "build", missing, "--json", "--quiet", "--builder", builderBuildKit); code == ExitUsage {
		t.Errorf("build --json --quiet --builder buildkit: exit %d: %s", code, stderr)
	}
	for _, b := range []string{builderEmbedded, builderBuildKit} {
		for _, name := range flags {
			val := samples[name]
			if name == "builder" {
				val = b
			}
			args := []string{"build", missing, "--builder", b, "--" + name + "=" + val}
			code, _, stderr := run(t, args...)
			refused := code == ExitUsage && strings.Contains(stderr, "does not work with --builder "+b)
			if works := slices.Contains(buildFlagBuilders[name], b); works && code == ExitUsage {
				t.Errorf("%s: exit %d, want the flag accepted (the build fails later, reading the manifest): %s", strings.Join(args, " "), code, stderr)
			} else if !works && !refused {
				t.Errorf("%s: exit %d, want a usage error naming the builder: %s", strings.Join(args, " "), code, stderr)
			}
		}
	}
}

// Flags that stop the build (--plan, --emit-llb, --verify) cannot be
// combined with each other or with outputs they would skip.
func TestBuildRefusesIgnoredCombinations(t *testing.T) {
	dir := t.TempDir()
	verify := "--verify=sha256:" + strings.Repeat("0", 64)
	for _, args := range [][]string{
		{"--plan", verify},
		{"--plan", "--emit-llb", "-"},
		{verify, "--output", "oci:" + dir},
		{verify, "--push", "127.0.0.1:1/x:y"},
		{"--emit-llb", "-", "--digest-file", filepath.Join(dir, "d")},
		{"--plan", "--output", "oci:" + dir},
		{"--builder", "buildkit", verify, "--push", "127.0.0.1:1/x:y"},
	} {
		code, _, stderr := run(t, append([]string{"build", filepath.Join(dir, "hfpack.toml")}, args...)...)
		if code != ExitUsage {
			t.Errorf("build %s: exit %d, want %d: %s", strings.Join(args, " "), code, ExitUsage, stderr)
		}
	}
}
