package llb

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/core/content"
	contentlocal "github.com/containerd/containerd/v2/plugins/content/local"

	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/util/progress/progressui"
	"golang.org/x/sync/errgroup"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/imagespec"
	"github.com/hfpack/hfpack/internal/fsio"
)

type solveOptions struct {
	lower     []Option
	installer string
	progress  io.Writer
	exports   []client.ExportEntry
	base      v1.Image
	remote    []remote.Option
	archives  []*archive
	push      *name.Repository
}

// SolveOption configures Solve.
type SolveOption func(*solveOptions) error

// WithLowerOptions passes options to Lower (WithWheelURLs).
func WithLowerOptions(opts ...Option) SolveOption {
	return func(o *solveOptions) error { o.lower = append(o.lower, opts...); return nil }
}

// WithInstaller sets the static linux/amd64 hfpack binary synced to the
// daemon as LocalInstaller; the default is the running executable.
func WithInstaller(path string) SolveOption {
	return func(o *solveOptions) error { o.installer = path; return nil }
}

// WithProgress writes BuildKit's progress to w as plain text lines.
func WithProgress(w io.Writer) SolveOption {
	return func(o *solveOptions) error { o.progress = w; return nil }
}

// WithBaseImage uses img's config as the base's instead of fetching it; img
// must be the image Plan.Base pins.
func WithBaseImage(img v1.Image) SolveOption {
	return func(o *solveOptions) error { o.base = img; return nil }
}

// WithRemoteOptions passes options (auth, transport) to the client-side
// fetch of the base's config.
func WithRemoteOptions(ro ...remote.Option) SolveOption {
	return func(o *solveOptions) error { o.remote = append(o.remote, ro...); return nil }
}

// WithOCILayout writes the image to an OCI image layout at dir (created if
// missing), tagged tag in its index.
func WithOCILayout(dir, tag string) SolveOption {
	return func(o *solveOptions) error {
		attrs := map[string]string{"tar": "false"}
		if tag != "" {
			attrs[string(exptypes.OptKeyName)] = tag
		}
		o.exports = append(o.exports, client.ExportEntry{Type: client.ExporterOCI, Attrs: attrs, OutputDir: dir})
		return nil
	}
}

// WithDockerArchive writes the image as a `docker load` archive at path,
// named tag; the file appears only when complete.
func WithDockerArchive(path, tag string) SolveOption {
	return func(o *solveOptions) error {
		a := &archive{path: path}
		o.exports = append(o.exports, client.ExportEntry{
			Type:   client.ExporterDocker,
			Attrs:  map[string]string{string(exptypes.OptKeyName): tag},
			Output: a.create,
		})
		o.archives = append(o.archives, a)
		return nil
	}
}

// archive is an exporter's output file, written to a temporary name next
// to path and renamed when the solve succeeds.
type archive struct {
	path string
	f    *fsio.Pending
}

func (a *archive) create(map[string]string) (io.WriteCloser, error) {
	f, err := fsio.Create(a.path, 0o644)
	if err != nil {
		return nil, err
	}
	a.f = f
	return nopCloser{f}, nil
}

// nopCloser leaves closing to finish: the exporter closes its writer before
// the solve is known to have succeeded.
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// finish renames the temporary file into place, or removes it after a
// failed solve.
func (a *archive) finish(ok bool) error {
	if a.f == nil {
		return nil
	}
	if !ok {
		a.f.Abort()
		return nil
	}
	return a.f.Commit()
}

// WithPush pushes the image to ref; insecure allows plain HTTP (a registry
// on loopback).
func WithPush(ref string, insecure bool) SolveOption {
	return func(o *solveOptions) error {
		attrs := map[string]string{string(exptypes.OptKeyName): ref, string(exptypes.OptKeyPush): "true"}
		if insecure {
			attrs[string(exptypes.OptKeyInsecure)] = "true"
		}
		o.exports = append(o.exports, client.ExportEntry{Type: client.ExporterImage, Attrs: attrs})
		return nil
	}
}

// Result is what a Solve produced.
type Result struct {
	// Digest is the image manifest's digest.
	Digest string
	// ConfigDigest is the image config's digest.
	ConfigDigest string
}

// Solve builds p on the BuildKit daemon at addr ("unix:///run/buildkit/
// buildkitd.sock", "tcp://host:1234") and exports it as the options say.
// The image config (the embedded builder's, from the base's config and the
// Plan) goes to the exporter as containerimage.config, with p's
// SOURCE_DATE_EPOCH and OCI media types (and no rewrite-timestamp, see
// exportAttrs); no provenance
// is attached. An error from the daemon names the ops that failed.
func Solve(ctx context.Context, addr string, p *builder.Plan, opts ...SolveOption) (*Result, error) {
	o := &solveOptions{}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	req, err := prepare(ctx, p, o)
	if err != nil {
		return nil, err
	}
	c, err := client.New(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to buildkitd at %s: %w", addr, err)
	}
	defer c.Close()
	resp, err := run(ctx, c, req, o.progress)
	for _, a := range o.archives {
		if ferr := a.finish(err == nil); err == nil && ferr != nil {
			err = ferr
		}
	}
	if err != nil {
		return nil, err
	}
	return &Result{
		Digest:       resp.ExporterResponse[exptypes.ExporterImageDigestKey],
		ConfigDigest: resp.ExporterResponse[exptypes.ExporterImageConfigDigestKey],
	}, nil
}

// request is everything a solve sends: the graph, the image config, the
// base's config, and the session's local sources and exports.
type request struct {
	def          *llb.Definition
	config, base []byte
	opt          client.SolveOpt
}

// prepare lowers p and computes the image config on the client.
func prepare(ctx context.Context, p *builder.Plan, o *solveOptions) (*request, error) {
	if o.installer == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding the installer binary: %w", err)
		}
		o.installer = exe
	}
	def, err := Lower(ctx, p, o.lower...)
	if err != nil {
		return nil, err
	}
	base := o.base
	if base == nil {
		if base, err = builder.ResolveBase(ctx, p.Base, o.remote...); err != nil {
			return nil, err
		}
	}
	cfg, err := ImageConfig(ctx, p, base)
	if err != nil {
		return nil, err
	}
	// The base's own config tells the exporter which layers are the
	// base's, so that it never rewrites or re-reads them.
	baseCfg, err := base.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the base's config: %w", err)
	}
	mounts, err := LocalMounts(p, o.installer, o.lower...)
	if err != nil {
		return nil, err
	}
	exports := slices.Clone(o.exports)
	auth := authprovider.LoadAuthConfig(config.LoadDefaultConfigFile(io.Discard))
	if o.push != nil {
		exports = append(exports, pushExport(*o.push))
		// The daemon pushes with the credentials hfpack's push would use.
		auth = keychainAuth(pushKeychain)
	}
	for i, e := range exports {
		e.Attrs = exportAttrs(e.Attrs, p.SourceDateEpoch)
		exports[i] = e
	}
	stores, err := layoutStores(p.Base)
	if err != nil {
		return nil, err
	}
	return &request{def: def, config: cfg, base: baseCfg, opt: client.SolveOpt{
		Exports:     exports,
		LocalMounts: mounts,
		OCIStores:   stores,
		Session: []session.Attachable{
			// Registry credentials come from the docker config and its
			// credential helpers, as with buildctl and docker buildx;
			// for a daemon push, from hfpack's push keychain.
			authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{AuthConfigProvider: auth}),
		},
	}}, nil
}

// layoutStores serves a local OCI layout base to the daemon as the content
// store the graph's oci-layout source names (LayoutStore).
func layoutStores(b builder.Base) (map[string]content.Store, error) {
	if !imagespec.IsLayoutRef(b.Ref) {
		return nil, nil
	}
	if b.Layout == "" {
		return nil, fmt.Errorf("base %s: the plan has no layout directory (BaseInput.Layout)", b.Ref)
	}
	store, err := contentlocal.NewStore(b.Layout)
	if err != nil {
		return nil, fmt.Errorf("base %s: opening the layout's blobs: %w", b.Ref, err)
	}
	return map[string]content.Store{LayoutStore: store}, nil
}

// run solves req through the gateway, so that the result carries the
// image config for the exporter, forwarding progress to w.
func run(ctx context.Context, c *client.Client, req *request, w io.Writer) (*client.SolveResponse, error) {
	build := func(ctx context.Context, gw gateway.Client) (*gateway.Result, error) {
		res, err := gw.Solve(ctx, gateway.SolveRequest{Definition: req.def.ToPB(), Evaluate: true})
		if err != nil {
			return nil, err
		}
		res.AddMeta(exptypes.ExporterImageConfigKey, req.config)
		res.AddMeta(exptypes.ExporterImageBaseConfigKey, req.base)
		return res, nil
	}
	ch := make(chan *client.SolveStatus)
	failed := &failures{}
	var resp *client.SolveResponse
	g, gctx := errgroup.WithContext(context.WithoutCancel(ctx))
	g.Go(func() error {
		var err error
		resp, err = c.Build(ctx, req.opt, "", build, ch)
		return err
	})
	g.Go(func() error { return forward(gctx, ch, w, failed) })
	if err := g.Wait(); err != nil {
		if names := failed.names(); len(names) > 0 {
			return nil, fmt.Errorf("buildkit: %s: %w", strings.Join(names, "; "), err)
		}
		return nil, fmt.Errorf("buildkit: %w", err)
	}
	return resp, nil
}

// exportAttrs adds the reproducibility attributes to an exporter's. There
// is no rewrite-timestamp: every entry hfpack's graph writes already carries
// SOURCE_DATE_EPOCH (the installer ExecOp and the epoch copies set it), so
// the image is the same across prunes and daemons without it, and the
// rewrite would decompress and recompress every hfpack layer at every
// export, cached or not. New layers are gzipped at level 1, as the
// embedded builder gzips code (BuildKit's default, level 6, costs about
// five times the CPU for a few per cent less); a layer keeps the blob it
// was first exported with.
func exportAttrs(in map[string]string, epoch int64) map[string]string {
	out := map[string]string{
		string(exptypes.OptKeySourceDateEpoch):  strconv.FormatInt(epoch, 10),
		string(exptypes.OptKeyRewriteTimestamp): "false",
		string(exptypes.OptKeyOCITypes):         "true",
		string(exptypes.OptKeyCompressionLevel): "1",
	}
	for k, v := range in {
		out[k] = v
	}
	return out
}

// failures collects the names of the vertices the daemon reports as failed.
type failures struct {
	mu  sync.Mutex
	set map[string]bool
}

func (f *failures) add(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.set == nil {
		f.set = map[string]bool{}
	}
	f.set[name] = true
}

func (f *failures) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.set))
	for n := range f.set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// forward drains ch, recording failed vertices and showing progress on w
// (plain lines, no terminal control) when w is not nil.
func forward(ctx context.Context, ch chan *client.SolveStatus, w io.Writer, f *failures) error {
	var disp chan *client.SolveStatus
	done := make(chan error, 1)
	if w != nil {
		d, err := progressui.NewDisplay(w, progressui.PlainMode)
		if err != nil {
			return err
		}
		disp = make(chan *client.SolveStatus)
		go func() {
			_, err := d.UpdateFrom(ctx, disp)
			done <- err
		}()
	}
	for s := range ch {
		for _, v := range s.Vertexes {
			if v.Error != "" && !strings.Contains(v.Error, "context canceled") {
				f.add(v.Name)
			}
		}
		if disp != nil {
			disp <- s
		}
	}
	if disp == nil {
		return nil
	}
	close(disp)
	return <-done
}

// ImageConfig returns the config file the embedded builder writes for p
// (builder.Assemble over the base's config), as JSON; its rootfs is
// replaced by the exporter. base may be nil: the base's config is then
// fetched from its registry.
func ImageConfig(ctx context.Context, p *builder.Plan, base v1.Image, ro ...remote.Option) ([]byte, error) {
	if base == nil {
		var err error
		if base, err = builder.ResolveBase(ctx, p.Base, ro...); err != nil {
			return nil, err
		}
	}
	layers := make([]v1.Layer, len(p.Layers))
	for i := range layers {
		layers[i] = placeholder{}
	}
	img, err := builder.Assemble(base, p, layers)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("computing the image config: %w", err)
	}
	return json.Marshal(cf)
}

// placeholder stands for a layer BuildKit builds: only its diffID is read
// (for rootfs, which the exporter replaces).
type placeholder struct{}

var zeroHash = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 64)}

func (placeholder) Digest() (v1.Hash, error)             { return zeroHash, nil }
func (placeholder) DiffID() (v1.Hash, error)             { return zeroHash, nil }
func (placeholder) Size() (int64, error)                 { return 0, nil }
func (placeholder) MediaType() (types.MediaType, error)  { return types.OCILayer, nil }
func (placeholder) Compressed() (io.ReadCloser, error)   { return nil, fmt.Errorf("placeholder layer") }
func (placeholder) Uncompressed() (io.ReadCloser, error) { return nil, fmt.Errorf("placeholder layer") }
