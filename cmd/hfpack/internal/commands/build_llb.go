package commands

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hfpack/hfpack/builder"
	buildcache "github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/llb"
	"github.com/hfpack/hfpack/builder/publish"
	"github.com/hfpack/hfpack/internal/fsio"
	"github.com/hfpack/hfpack/internal/redact"
	"github.com/hfpack/hfpack/pipeline"
)

// Builders `hfpack build --builder` accepts.
const (
	builderEmbedded = "embedded"
	builderBuildKit = "buildkit"
)

// emitLLB writes the plan's LLB definition to path ("-" for stdout) and
// reports its digest.
func emitLLB(ctx context.Context, g *globals, p *pipeline.Project, plan *builder.Plan, path string) error {
	w := g.ui.Out
	if path != "-" {
		f, err := fsio.Create(path, 0o644)
		if err != nil {
			return err
		}
		defer f.Abort()
		d, err := llb.Emit(ctx, f, plan)
		if err != nil {
			return err
		}
		if err := f.Commit(); err != nil {
			return err
		}
		g.ui.Infof("wrote %s", path)
		return g.ui.Result(map[string]string{"llb": path, "digest": d.String()}, func(w io.Writer) error {
			_, err := fmt.Fprintln(w, d)
			return err
		})
	}
	d, err := llb.Emit(ctx, w, plan)
	if err != nil {
		return err
	}
	g.ui.Infof("LLB digest %s", d)
	return nil
}

// backend returns the Backend --builder names, and what to call when the
// build is over. The embedded builder keeps its layers in c; BuildKit's
// images come back into an export store beside it (llb.Store), which the
// daemon fills with only the blobs it lacks, or, when the build's only
// target is --push, go from the daemon straight to the registry
// (llb.WithDaemonPush): publishing then moves the tag.
func (f *buildFlags) backend(g *globals, pr *pipeline.Prepared, c *buildcache.Cache, targets []publish.Target, extra ...builder.Option) (builder.Backend, func(), error) {
	if f.builder != builderBuildKit {
		opts := append([]builder.Option{builder.WithCache(c)}, extra...)
		if pr.BaseImage != nil {
			opts = append(opts, builder.WithBaseImage(pr.BaseImage))
		}
		return builder.Embedded(opts...), func() {}, nil
	}
	if f.bkAddr == "" {
		return nil, nil, usageError{fmt.Errorf("--builder buildkit needs --buildkit-addr (e.g. unix:///run/buildkit/buildkitd.sock or tcp://HOST:1234)")}
	}
	store, err := llb.OpenStore(filepath.Join(pr.BuildCache, "buildkit"))
	if err != nil {
		return nil, nil, err
	}
	// BuildKit's progress names the URLs it fetches from: their queries
	// (tokens) are redacted like hfpack's own lines.
	progress := redact.Writer(g.ui.Err)
	opts := []llb.SolveOption{llb.WithProgress(progress)}
	if pr.BaseImage != nil {
		opts = append(opts, llb.WithBaseImage(pr.BaseImage))
	}
	if len(targets) == 1 && targets[0].Kind == publish.Registry && f.verify == "" {
		opts = append(opts, llb.WithDaemonPush(repoOf(targets[0].Ref)))
	}
	g.ui.Infof("solving on buildkitd at %s", f.bkAddr)
	return llb.NewBackend(f.bkAddr, store, opts...), func() { progress.Close() }, nil
}

// newInternal is the hidden command a BuildKit ExecOp runs: hfpack's static
// binary installs the locked wheels inside the build, with no pip and no
// network.
func newInternal() *cobra.Command {
	cmd := &cobra.Command{Use: "internal", Hidden: true, Short: "Commands hfpack runs inside builds"}
	cmd.AddCommand(&cobra.Command{
		Use:                "install-wheels ARGS...",
		Short:              "Install wheels into a directory (run by BuildKit)",
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			return llb.RunInstaller(args)
		},
	})
	return cmd
}
