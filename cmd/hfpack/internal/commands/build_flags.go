package commands

import (
	"fmt"
	"slices"

	"github.com/spf13/pflag"
)

// buildFlagBuilders says, for every flag of `hfpack build`, which builders
// honour it. Setting a flag the chosen builder does not honour is a usage
// error (exit 2), never silently ignored; a new flag without an entry here
// fails TestEveryBuildFlagIsDecidedForEachBuilder.
var buildFlagBuilders = map[string][]string{
	"output":              {builderEmbedded, builderBuildKit},
	"push":                {builderEmbedded, builderBuildKit},
	"digest-file":         {builderEmbedded, builderBuildKit},
	"plan":                {builderEmbedded, builderBuildKit},
	"cache-dir":           {builderEmbedded, builderBuildKit},
	"sidecar":             {builderEmbedded, builderBuildKit},
	"emit-llb":            {builderEmbedded, builderBuildKit},
	"builder":             {builderEmbedded, builderBuildKit},
	"sbom":                {builderEmbedded, builderBuildKit},
	"verify":              {builderEmbedded, builderBuildKit},
	"code-compression":    {builderEmbedded},
	"weights-compression": {builderEmbedded},
	"buildkit-addr":       {builderBuildKit},
}

// buildFlagWhy says why a builder does not honour a flag, and what to do.
var buildFlagWhy = map[string]string{
	"code-compression":    "BuildKit's exporter compresses every layer alike; use --builder embedded to choose per layer",
	"weights-compression": "BuildKit's exporter compresses every layer alike; use --builder embedded to choose per layer",
	"buildkit-addr":       "the embedded builder needs no daemon; add --builder buildkit to use one",
}

// buildFlagsConflicting are the flags that stop before anything is
// written (--plan, --emit-llb, --verify) and those that name outputs:
// combined, the outputs would be silently skipped.
var (
	buildStopFlags   = []string{"plan", "emit-llb", "verify"}
	buildOutputFlags = []string{"output", "push", "digest-file"}
)

// checkBuildFlags refuses the flags the chosen builder does not honour
// and combinations where one flag would be ignored. fs is the build
// command's own flags (LocalFlags: --json and --quiet are every
// command's).
func checkBuildFlags(fs *pflag.FlagSet, builder string) error {
	if builder != builderEmbedded && builder != builderBuildKit {
		return usageError{fmt.Errorf("--builder %q: want embedded or buildkit", builder)}
	}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err == nil && f.Changed && !slices.Contains(buildFlagBuilders[f.Name], builder) {
			err = usageError{fmt.Errorf("--%s does not work with --builder %s: %s", f.Name, builder, buildFlagWhy[f.Name])}
		}
	})
	if err != nil {
		return err
	}
	var stops []string
	for _, s := range buildStopFlags {
		if fs.Changed(s) {
			stops = append(stops, s)
		}
	}
	if len(stops) > 1 {
		return usageError{fmt.Errorf("--%s and --%s cannot be combined: each stops the build", stops[0], stops[1])}
	}
	for _, o := range buildOutputFlags {
		if len(stops) == 1 && fs.Changed(o) {
			return usageError{fmt.Errorf("--%s writes nothing, so --%s would be ignored: drop one", stops[0], o)}
		}
	}
	return nil
}
