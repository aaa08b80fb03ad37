package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/hfpack/hfpack/builder"
	buildcache "github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/layer"
	"github.com/hfpack/hfpack/builder/publish"
	"github.com/hfpack/hfpack/cmd/hfpack/internal/ui"
	"github.com/hfpack/hfpack/internal/fsio"
	"github.com/hfpack/hfpack/pipeline"
)

// BuildResult is what `hfpack build --json` prints.
type BuildResult struct {
	Digest   string        `json:"digest"`
	Image    string        `json:"image,omitempty"` // REF@DIGEST when pushed
	Outputs  []string      `json:"outputs"`
	Base     string        `json:"base"`
	Lock     string        `json:"lockDigest"`
	Layers   []BuildLayer  `json:"layers"`
	SBOM     *SBOMResult   `json:"sbom,omitempty"`
	Warnings []string      `json:"warnings,omitempty"`
	Plan     *builder.Plan `json:"-"`
}

// BuildLayer is one layer of the result.
type BuildLayer struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	Cached bool   `json:"cached"`
}

type buildFlags struct {
	outputs     []string
	push        string
	digestFile  string
	plan        bool
	cacheDir    string
	sidecar     string
	codeComp    string
	weightsComp string
	verify      string
	sbom        bool
	emitLLB     string
	builder     string
	bkAddr      string
}

func newBuild(g *globals) *cobra.Command {
	f := &buildFlags{}
	cmd := &cobra.Command{
		Use:   "build [MANIFEST]",
		Short: "Build the serving image from the manifest and its lock",
		Long: `build checks everything (a stale lock, the base for the accelerator, the model,
the handler's imports), downloads the locked wheels, installs them with
hfpack's own installer and assembles the image without a daemon. The same
manifest, lock and model give the same image digest on any machine.

The model is a local directory (model.path) or a Hub model (model.source =
"hf://ORG/NAME"), whose files build fetches at the commit the lock pins,
each verified against its sha256 in the lock: the model layers are those of
a directory holding the same files.

Outputs: --output oci:DIR, --output docker-archive:FILE[:TAG], --push REF
(any OCI registry; credentials from docker config, credential helpers and
Google's keychain). With none, the image goes to oci:out/NAME beside the
manifest. The digest is printed on stdout.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkBuildFlags(cmd.LocalFlags(), f.builder); err != nil {
				return err
			}
			return runBuild(cmd.Context(), g, f, manifestArg(args))
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.outputs, "output", "o", nil, "write the image: oci:DIR or docker-archive:FILE[:TAG] (repeatable)")
	fl.StringVar(&f.push, "push", "", "push the image to this registry reference (REGION-docker.pkg.dev/PROJECT/REPO/NAME)")
	fl.StringVar(&f.digestFile, "digest-file", "", "write the image reference by digest (or the digest) to this file")
	fl.BoolVar(&f.plan, "plan", false, "print the build plan as JSON and stop")
	fl.StringVar(&f.cacheDir, "cache-dir", "", "cache directory (default $HFPACK_CACHE_DIR or the user cache dir)")
	fl.StringVar(&f.sidecar, "sidecar", "", "the linux/amd64 hfpack-sidecar binary (default: beside hfpack)")
	fl.StringVar(&f.codeComp, "code-compression", "", "compression of code layers: gzip (default), zstd or none")
	fl.StringVar(&f.weightsComp, "weights-compression", "", "compression of model layers: none (default), zstd or gzip")
	fl.StringVar(&f.emitLLB, "emit-llb", "", "write the BuildKit LLB definition (canonical protobuf) to FILE or - and stop")
	fl.StringVar(&f.builder, "builder", builderEmbedded, "embedded (no daemon) or buildkit")
	fl.StringVar(&f.bkAddr, "buildkit-addr", os.Getenv("BUILDKIT_HOST"), "BuildKit daemon address for --builder buildkit (default $BUILDKIT_HOST)")
	fl.BoolVar(&f.sbom, "sbom", true, "attach a CycloneDX SBOM of the locked packages to pushed images and OCI layouts")
	fl.StringVar(&f.verify, "verify", "", "rebuild and fail unless the image digest equals this one: sha256:..., or REPO@sha256:... or oci:DIR@sha256:... to name differing layers")
	return cmd
}

func runBuild(ctx context.Context, g *globals, f *buildFlags, manifestPath string) error {
	targets, comp, err := f.parse()
	if err != nil {
		return err
	}
	p, err := openProject(g.ui, manifestPath)
	if err != nil {
		return err
	}
	if len(targets) == 0 && !f.plan && f.verify == "" {
		targets = []publish.Target{{Kind: publish.OCI, Path: filepath.Join(p.Manifest.Dir, "out", p.Manifest.Name)}}
	}
	pr, c, plan, err := f.prepare(ctx, g, p, comp)
	if err != nil {
		return err
	}
	defer c.Close() // the layers it found are read until the end
	switch {
	case f.plan:
		enc := json.NewEncoder(g.ui.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(plan)
	case f.emitLLB != "":
		return emitLLB(ctx, g, p, plan, f.emitLLB)
	}
	// The embedded builder pushes each layer as soon as it is written,
	// beside the next; the image's push then finds them there.
	var pre *publish.Prepush
	var extra []builder.Option
	if t, ok := registryTarget(targets); ok && f.builder != builderBuildKit && f.verify == "" {
		if pre, err = publish.NewPrepush(ctx, t); err != nil {
			return err
		}
		extra = append(extra, builder.WithLayerReady(pre.Add))
	}
	be, done, err := f.backend(g, pr, c, targets, extra...)
	if err != nil {
		return err
	}
	defer done()
	g.ui.Infof("building %s on %s", p.Manifest.Name, pr.Selection.Base.Ref)
	if testHookBeforeBuild != nil {
		testHookBeforeBuild()
	}
	built, err := be.Build(ctx, plan)
	if pre != nil {
		if err != nil {
			pre.Cancel()
		} else if err := pre.Wait(); err != nil {
			// The image's push sends what is missing, or fails saying why.
			g.ui.Infof("layers pushed early: %v", err)
		}
	}
	if err != nil {
		return err
	}
	res, err := newBuildResult(built, pr, plan)
	if err != nil {
		return err
	}
	if f.verify != "" {
		return verifyDigest(ctx, g, f.verify, built.Image, res)
	}
	if err := publishAll(ctx, g, p, built.Image, targets, f.sbom, pr.Inputs.SourceDateEpoch, res); err != nil {
		return err
	}
	return finishBuild(g, res, f.digestFile)
}

// testHookBeforeBuild, when set by a test, runs between the plan and the
// build.
var testHookBeforeBuild func()

// prepare runs the library stage (pipeline.Prepare: checks, base, wheels,
// model, app files) and plans the image, with the layer cache it opens
// first, so that a prune waits for the whole build (close it when done).
func (f *buildFlags) prepare(ctx context.Context, g *globals, p *pipeline.Project, comp builder.Compression) (_ *pipeline.Prepared, _ *buildcache.Cache, _ *builder.Plan, err error) {
	c, err := holdCaches(ctx, g, f.cacheDir)
	if err != nil {
		return nil, nil, nil, err
	}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	pr, err := p.Prepare(ctx, pipeline.BuildOptions{
		CacheDir: f.cacheDir,
		Sidecar:  f.sidecar,
		Version:  ReadVersion().Version,
		Logf:     g.ui.Infof,
		// Both builders run the same installer: the preflight refuses a
		// wheel that would replace a file of the image, or another wheel's.
		SkipWheelCheck: f.plan || f.emitLLB != "",
	})
	if err != nil {
		return nil, nil, nil, err
	}
	for _, w := range pr.Warnings {
		g.ui.Warnf("%s", w)
	}
	pr.Inputs.Compression = comp
	plan, err := builder.NewPlan(ctx, pr.Inputs, builder.WithCache(c))
	if err != nil {
		return nil, nil, nil, err
	}
	return pr, c, plan, nil
}

// newBuildResult describes what a backend built: its digest and, when the
// backend says, what it did for each layer.
func newBuildResult(built *builder.Result, pr *pipeline.Prepared, plan *builder.Plan) (*BuildResult, error) {
	digest, err := built.Image.Digest()
	if err != nil {
		return nil, err
	}
	res := &BuildResult{Digest: digest.String(), Base: pr.Selection.Base.Ref, Lock: pr.Inputs.LockDigest, Plan: plan}
	for _, l := range built.Layers {
		res.Layers = append(res.Layers, BuildLayer{Name: l.Name, Digest: l.Digest.String(), Size: l.Size, Cached: l.Cached})
	}
	return res, nil
}

// parse checks the flags that need no manifest: the targets, the
// compression and the digest --verify names.
func (f *buildFlags) parse() ([]publish.Target, builder.Compression, error) {
	targets, err := f.targets()
	if err != nil {
		return nil, builder.Compression{}, err
	}
	comp, err := f.compression()
	if err != nil {
		return nil, builder.Compression{}, err
	}
	if f.verify != "" {
		if _, err := parseVerify(f.verify); err != nil {
			return nil, builder.Compression{}, err // a usage error, before the build
		}
	}
	return targets, comp, nil
}

// publishAll writes img, with its SBOM unless sbom is false, to every
// target and records them in res. Both builders end here.
func publishAll(ctx context.Context, g *globals, p *pipeline.Project, img v1.Image, targets []publish.Target, sbom bool, epoch int64, res *BuildResult) error {
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	var referrers []v1.Image
	if sbom {
		art, sr, err := sbomArtifact(p, img, epoch)
		if err != nil {
			return err
		}
		referrers, res.SBOM = []v1.Image{art}, sr
	}
	for _, t := range targets {
		if err := publishOne(ctx, g, img, t, referrers...); err != nil {
			return err
		}
		res.Outputs = append(res.Outputs, t.String())
		if t.Kind == publish.Registry {
			res.Image = repoOf(t.Ref) + "@" + digest.String()
		}
	}
	return nil
}

// finishBuild records the result for the pipeline: REF@DIGEST (or the bare
// digest when nothing was pushed) in digestFile, and the digest or the JSON
// summary on stdout. Both builders end here.
func finishBuild(g *globals, res *BuildResult, digestFile string) error {
	if digestFile != "" {
		out := res.Digest
		if res.Image != "" {
			out = res.Image
		}
		if err := fsio.WriteFile(digestFile, []byte(out+"\n"), 0o644); err != nil {
			return err
		}
	}
	return g.ui.Result(res, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, res.Digest)
		return err
	})
}

// registryTarget returns the registry target among ts, if any.
func registryTarget(ts []publish.Target) (publish.Target, bool) {
	for _, t := range ts {
		if t.Kind == publish.Registry {
			return t, true
		}
	}
	return publish.Target{}, false
}

// repoOf strips a tag or digest from a reference.
func repoOf(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

func (f *buildFlags) targets() ([]publish.Target, error) {
	var ts []publish.Target
	for _, o := range f.outputs {
		t, err := publish.Parse(o)
		if err != nil {
			return nil, usageError{err}
		}
		if t.Kind == publish.Registry {
			return nil, usageError{fmt.Errorf("--output %s: use --push REF for registries", o)}
		}
		ts = append(ts, t)
	}
	if f.push != "" {
		push := f.push
		if r, err := name.ParseReference(push); err == nil {
			push = r.Name() // REPO alone means REPO:latest, as with docker push and ko
		}
		t, err := publish.Parse("registry:" + push)
		if err != nil {
			return nil, usageError{fmt.Errorf("--push: %w", err)}
		}
		ts = append(ts, t)
	}
	return ts, nil
}

func (f *buildFlags) compression() (builder.Compression, error) {
	var c builder.Compression
	for _, x := range []struct {
		flag, val string
		dst       *layer.Compression
	}{{"--code-compression", f.codeComp, &c.Code}, {"--weights-compression", f.weightsComp, &c.Weights}} {
		if x.val == "" {
			continue
		}
		comp, err := layer.ParseCompression(x.val)
		if err != nil {
			return c, usageError{fmt.Errorf("%s: %w", x.flag, err)}
		}
		*x.dst = comp
	}
	return c, nil
}

func publishOne(ctx context.Context, g *globals, img v1.Image, t publish.Target, referrers ...v1.Image) error {
	var opts []publish.Option
	if len(referrers) > 0 && t.Kind != publish.DockerArchive {
		opts = append(opts, publish.WithReferrers(referrers...))
	}
	var bar ui.Progress
	done := make(chan struct{})
	if t.Kind == publish.Registry {
		ch := make(chan v1.Update, 64)
		opts = append(opts, publish.WithProgress(ch))
		go func() {
			defer close(done)
			var last int64
			for u := range ch {
				if bar == nil && u.Total > 0 {
					bar = g.ui.NewProgress("pushing "+t.Ref, u.Total, true)
				}
				if bar != nil && u.Complete > last {
					bar.Add(u.Complete - last)
					last = u.Complete
				}
			}
		}()
	} else {
		close(done)
	}
	g.ui.Infof("writing %s", t)
	_, err := publish.Publish(ctx, img, t, opts...)
	<-done // Publish closed the channel
	// The push is done only when its referrers and its tag are: a failed
	// push never says done.
	if bar != nil {
		if err != nil {
			bar.Fail()
		} else {
			bar.Done()
		}
	}
	return err
}
