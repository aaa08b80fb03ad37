package commands

import (
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/llb"
	"github.com/hfpack/hfpack/builder/publish"
	"github.com/hfpack/hfpack/cmd/hfpack/internal/project"
	"github.com/hfpack/hfpack/internal/fsio"
)

// Builders `hfpack build --builder` accepts.
const (
	builderEmbedded = "embedded"
	builderBuildKit = "buildkit"
)

// wheelURLs maps each planned wheel to its URL in the lock, so a BuildKit
// daemon downloads it itself (checked against the same sha256).
func wheelURLs(p *project.Project) func(builder.WheelRef) string {
	urls := map[string]string{}
	for _, pkg := range p.Lock.Packages {
		for _, w := range pkg.Wheels {
			urls[w.SHA256] = w.URL
		}
	}
	return func(w builder.WheelRef) string { return urls[w.SHA256] }
}

// emitLLB writes the plan's LLB definition to path ("-" for stdout) and
// reports its digest.
func emitLLB(ctx context.Context, g *globals, p *project.Project, plan *builder.Plan, path string) error {
	w := g.ui.Out
	if path != "-" {
		f, err := fsio.Create(path, 0o644)
		if err != nil {
			return err
		}
		defer f.Abort()
		d, err := llb.Emit(ctx, f, plan, llb.WithWheelURLs(wheelURLs(p)))
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
	d, err := llb.Emit(ctx, w, plan, llb.WithWheelURLs(wheelURLs(p)))
	if err != nil {
		return err
	}
	g.ui.Infof("LLB digest %s", d)
	return nil
}

// buildWithBuildKit solves the plan on a BuildKit daemon with the same
// outputs the embedded builder writes.
func buildWithBuildKit(ctx context.Context, g *globals, p *project.Project, pr *project.Prepared, plan *builder.Plan, addr string, targets []publish.Target, digestFile string) error {
	if addr == "" {
		return usageError{fmt.Errorf("--builder buildkit needs --buildkit-addr (e.g. unix:///run/buildkit/buildkitd.sock or tcp://HOST:1234)")}
	}
	opts := []llb.SolveOption{
		llb.WithLowerOptions(llb.WithWheelURLs(wheelURLs(p))),
		llb.WithProgress(g.ui.Err),
	}
	if pr.BaseImage != nil {
		opts = append(opts, llb.WithBaseImage(pr.BaseImage))
	}
	var pushed string
	for _, t := range targets {
		switch t.Kind {
		case publish.OCI:
			opts = append(opts, llb.WithOCILayout(t.Path, t.Ref))
		case publish.DockerArchive:
			opts = append(opts, llb.WithDockerArchive(t.Path, t.Ref))
		case publish.Registry:
			ref, err := name.ParseReference(t.Ref)
			if err != nil {
				return usageError{err}
			}
			opts = append(opts, llb.WithPush(t.Ref, ref.Context().Registry.Scheme() == "http"))
			pushed = repoOf(t.Ref)
		}
	}
	g.ui.Infof("solving %s on %s", p.Manifest.Name, addr)
	res, err := llb.Solve(ctx, addr, plan, opts...)
	if err != nil {
		return err
	}
	out := &BuildResult{Digest: res.Digest, Base: pr.Selection.Base.Ref, Lock: pr.Inputs.LockDigest}
	for _, t := range targets {
		out.Outputs = append(out.Outputs, t.String())
	}
	if pushed != "" {
		out.Image = pushed + "@" + out.Digest
	}
	return finishBuild(g, out, digestFile)
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
