package commands

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/spf13/cobra"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/llb"
	"github.com/hfpack/hfpack/builder/publish"
	"github.com/hfpack/hfpack/internal/fsio"
	"github.com/hfpack/hfpack/internal/leftover"
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

// buildWithBuildKit solves the plan on a BuildKit daemon and publishes
// the result as the embedded builder does (publishAll): OCI layouts and
// --verify read the image from a layout the daemon exports into the cache
// directory, so layouts keep their other images and get the SBOM; a push
// goes by digest from the daemon, then the SBOM and the tag follow from
// here; docker archives come from the daemon.
func buildWithBuildKit(ctx context.Context, g *globals, p *pipeline.Project, pr *pipeline.Prepared, plan *builder.Plan, f *buildFlags, targets []publish.Target, epoch int64) error {
	if f.bkAddr == "" {
		return usageError{fmt.Errorf("--builder buildkit needs --buildkit-addr (e.g. unix:///run/buildkit/buildkitd.sock or tcp://HOST:1234)")}
	}
	// BuildKit's progress names the registry URLs it pushes to: their
	// queries (upload tokens) are redacted like hfpack's own lines.
	progress := redact.Writer(g.ui.Err)
	defer progress.Close()
	opts := []llb.SolveOption{
		llb.WithProgress(progress),
	}
	if pr.BaseImage != nil {
		opts = append(opts, llb.WithBaseImage(pr.BaseImage))
	}
	var later []publish.Target // published from here after the solve
	var pushed, export string
	for _, t := range targets {
		switch t.Kind {
		case publish.DockerArchive:
			opts = append(opts, llb.WithDockerArchive(t.Path, t.Ref))
		case publish.Registry:
			ref, err := name.ParseReference(t.Ref)
			if err != nil {
				return usageError{err}
			}
			opts = append(opts, llb.WithPushByDigest(ref.Context().Name(), ref.Context().Registry.Scheme() == "http"))
			pushed = ref.Context().Name()
			later = append(later, t)
		case publish.OCI:
			later = append(later, t)
			export = "layout"
		}
	}
	if f.verify != "" {
		export = "layout"
	}
	if export != "" {
		dir, release, err := exportDir(pr.BuildCache)
		if err != nil {
			return err
		}
		defer release()
		export = dir
		opts = append(opts, llb.WithOCILayout(dir, ""))
	}
	g.ui.Infof("solving %s on %s", p.Manifest.Name, f.bkAddr)
	res, err := llb.Solve(ctx, f.bkAddr, plan, opts...)
	if err != nil {
		return err
	}
	out := &BuildResult{Digest: res.Digest, Base: pr.Selection.Base.Ref, Lock: pr.Inputs.LockDigest, Plan: plan}
	digest, err := v1.NewHash(res.Digest)
	if err != nil {
		return fmt.Errorf("buildkit: image digest %q: %w", res.Digest, err)
	}
	var img v1.Image
	if export != "" {
		if img, err = layoutImage(export, digest); err != nil {
			return err
		}
	} else if pushed != "" {
		if img, err = publish.Pushed(ctx, pushed+"@"+res.Digest); err != nil {
			return err
		}
	}
	if f.verify != "" {
		return verifyDigest(ctx, g, f.verify, img, digest, out)
	}
	for _, t := range targets {
		if t.Kind == publish.DockerArchive {
			out.Outputs = append(out.Outputs, t.String())
		}
	}
	if err := publishAll(ctx, g, p, img, later, f.sbom, epoch, out); err != nil {
		return err
	}
	return finishBuild(g, out, f.digestFile)
}

// exportDir makes a directory in the build cache for the daemon to export
// an OCI layout into, held (internal/leftover) until release removes it;
// ones killed builds left are removed first.
func exportDir(cache string) (string, func(), error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", nil, err
	}
	leftover.Clean(cache, ".hfpack-oci-")
	dir, err := os.MkdirTemp(cache, ".hfpack-oci-*")
	if err != nil {
		return "", nil, err
	}
	release, err := leftover.Hold(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, func() { release(); os.RemoveAll(dir) }, nil
}

// layoutImage reads the image with digest d from the OCI layout at dir.
func layoutImage(dir string, d v1.Hash) (v1.Image, error) {
	lp, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the layout BuildKit exported: %w", err)
	}
	img, err := lp.Image(d)
	if err != nil {
		return nil, fmt.Errorf("reading the image BuildKit exported: %w", err)
	}
	return img, nil
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
