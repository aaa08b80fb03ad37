package commands

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/hfpack/hfpack/cmd/hfpack/internal/ui"
	"github.com/hfpack/hfpack/internal/redact"
	"github.com/hfpack/hfpack/manifest"
	"github.com/hfpack/hfpack/pipeline"
)

// Exit codes, documented in the README for CI pipelines.
const (
	ExitOK      = 0 // success
	ExitFailure = 1 // the work failed: a bad manifest, a stale lock, a refused GPU, a failed push
	ExitUsage   = 2 // the command line was wrong
)

// usageError marks a mistake in the command line itself.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	default:
		return ExitFailure
	}
}

// Execute runs hfpack with args and returns the exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := New(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		// Registries put upload tokens and signatures in URL queries,
		// indexes credentials in URLs: no message shows them.
		fmt.Fprintf(stderr, "hfpack: %s\n", redact.Text(err.Error()))
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "Run 'hfpack --help' for usage.\n")
		}
	}
	return ExitCode(err)
}

// globals are the flags every command shares.
type globals struct {
	json  bool
	quiet bool
	ui    *ui.UI
}

// New returns the root command.
func New(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{ui: ui.New(stdout, stderr)}
	root := &cobra.Command{
		Use:   "hfpack",
		Short: "Build reproducible Vertex AI serving images from Hugging Face models",
		Long: `hfpack turns a Hugging Face model directory and an hfpack.toml manifest into a
reproducible, Vertex-AI-ready serving image: a hashed lock of the Python
requirements, a CUDA base chosen for the target accelerator and pinned by
digest, and a Go sidecar that speaks the Vertex custom-container contract.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
		PersistentPreRun: func(*cobra.Command, []string) {
			g.ui.JSON, g.ui.Quiet = g.json, g.quiet
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().BoolVar(&g.json, "json", false, "print results as JSON on stdout")
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "print only results, warnings and errors")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newBuild(g),
		newLock(g),
		newCheck(g),
		newBases(g),
		newCache(g),
		newVertexSpec(g),
		newVersion(g),
		newInternal(),
		newSmoke(g),
	)
	return root
}

// usageArgs makes an argument validator's errors usage errors (exit 2).
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// manifestArg returns the manifest path from the optional positional argument.
func manifestArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return manifest.DefaultFile
}

// loadManifest loads and validates the manifest named by args.
func loadManifest(args []string) (*manifest.Manifest, error) {
	return pipeline.LoadManifest(manifestArg(args))
}
