package llb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/llb/install"
	"github.com/hfpack/hfpack/imagespec"
)

// Names of the local sources the graph reads from the client's session.
const (
	// LocalFiles holds every local file of the Plan (model, app, sidecar,
	// wheels without a URL), each named by its hex sha256.
	LocalFiles = "hfpack-files"
	// LocalInstaller holds the static linux/amd64 hfpack binary, named
	// InstallerName, that installs wheels inside the ExecOp.
	LocalInstaller = "hfpack-installer"
	// InstallerName is the installer binary's name inside LocalInstaller.
	InstallerName = "hfpack"
	// localID is the fixed LocalUniqueID of both local sources: the default
	// is random, and would change the graph's bytes on every run.
	localID = "hfpack"
)

// installerSubcommand is what the ExecOp runs the installer binary as:
// `hfpack internal install-wheels ARGS` (see RunInstaller).
var installerSubcommand = []string{"internal", "install-wheels"}

// ErrUnsupported reports a Plan the LLB backend cannot lower.
var ErrUnsupported = errors.New("not supported by the buildkit builder")

type options struct {
	wheelURL func(builder.WheelRef) string
}

// Option configures Lower.
type Option func(*options)

// WithWheelURLs overrides where each wheel is downloaded from (default:
// the plan's WheelRef.URL, the lock's): the daemon downloads the wheel
// itself, checking its sha256. A wheel whose URL is "" is read from the
// client's LocalFiles instead.
func WithWheelURLs(url func(builder.WheelRef) string) Option {
	return func(o *options) { o.wheelURL = url }
}

func makeOptions(opts []Option) *options {
	o := &options{wheelURL: func(w builder.WheelRef) string { return w.URL }}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// Lower returns the Plan's LLB definition. The same Plan and options give
// the same Marshal bytes on any machine.
func Lower(ctx context.Context, p *builder.Plan, opts ...Option) (*llb.Definition, error) {
	st, err := State(p, opts...)
	if err != nil {
		return nil, err
	}
	plat, err := platform(p.Base.Platform)
	if err != nil {
		return nil, err
	}
	return st.Marshal(ctx, llb.Platform(plat))
}

// State returns the Plan's image root filesystem as an llb.State: the base
// merged with one state per Plan layer, in order.
func State(p *builder.Plan, opts ...Option) (llb.State, error) {
	o := makeOptions(opts)
	base, err := baseState(p.Base)
	if err != nil {
		return llb.State{}, err
	}
	inputs := []llb.State{base}
	epoch := time.Unix(p.SourceDateEpoch, 0).UTC()
	for _, lp := range p.Layers {
		var st llb.State
		switch {
		case len(lp.Wheels) > 0 && len(lp.Files) > 0:
			return llb.State{}, fmt.Errorf("layer %s: %w: wheels and files in one layer", lp.Name, ErrUnsupported)
		case len(lp.Wheels) > 0:
			st, err = wheelLayer(p, lp, o)
		default:
			st, err = filesLayer(lp, epoch)
		}
		if err != nil {
			return llb.State{}, err
		}
		inputs = append(inputs, st)
	}
	return llb.Merge(inputs, llb.WithCustomName("hfpack: image "+p.Name)), nil
}

func platform(s string) (ocispecs.Platform, error) {
	if s == "" {
		s = "linux/amd64"
	}
	goos, arch, ok := strings.Cut(s, "/")
	if !ok || goos == "" || arch == "" {
		return ocispecs.Platform{}, fmt.Errorf("platform %q is not OS/ARCH", s)
	}
	arch, variant, _ := strings.Cut(arch, "/")
	return ocispecs.Platform{OS: goos, Architecture: arch, Variant: variant}, nil
}

// baseState is the base image by digest.
func baseState(b builder.Base) (llb.State, error) {
	if _, err := digest.Parse(b.Digest); err != nil {
		return llb.State{}, fmt.Errorf("base %s: digest %q: %w", b.Ref, b.Digest, err)
	}
	if imagespec.IsLayoutRef(b.Ref) {
		return layoutBaseState(b)
	}
	ref, _, _ := strings.Cut(b.Ref, "@")
	if b.Pull != "" {
		ref = b.Pull // a mirror of Ref's registry: the digest is the same
	}
	plat, err := platform(b.Platform)
	if err != nil {
		return llb.State{}, err
	}
	return llb.Image(ref+"@"+b.Digest, llb.Platform(plat), llb.WithCustomName("hfpack: base "+ref+"@"+b.Digest)), nil
}

// LayoutStore is the name of the content store through which the client
// serves a local OCI layout base to the daemon (SolveOpt.OCIStores).
const LayoutStore = "hfpack-base"

// layoutBaseState is a local OCI layout base, read by BuildKit's own
// oci-layout source from the client's content store by digest. The
// layout's path is not in the graph (it is machine-specific): the graph
// names the store and the digest only, so its bytes do not depend on where
// the layout is.
func layoutBaseState(b builder.Base) (llb.State, error) {
	plat, err := platform(b.Platform)
	if err != nil {
		return llb.State{}, err
	}
	return llb.OCILayout(layoutRefHost+"/"+LayoutStore+"@"+b.Digest,
		llb.OCIStore("", LayoutStore),
		llb.Platform(plat),
		llb.WithCustomName("hfpack: base from a local OCI layout, "+b.Digest)), nil
}

// layoutRefHost makes the layout's reference parse as a name with a host,
// as BuildKit's oci-layout identifier requires.
const layoutRefHost = "oci-layout.hfpack.invalid"

// files is the client's content-addressed local source, restricted to the
// given hex digests so that each layer's cache key depends on its own
// files only.
func files(what string, sums []string) llb.State {
	sums = sortedUnique(sums)
	return llb.Local(LocalFiles,
		llb.IncludePatterns(sums),
		llb.LocalUniqueID(localID),
		// Each layer syncs its own subset into its own snapshot: a shared
		// one would be re-synced, files deleted, by each layer in turn.
		llb.SharedKeyHint(LocalFiles+"/"+what),
		llb.WithCustomName("hfpack: local files for "+what))
}

func sortedUnique(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	n := 0
	for i, v := range out {
		if i == 0 || v != out[n-1] {
			out[n] = v
			n++
		}
	}
	return out[:n]
}

// wheelLayer installs lp's wheels with hfpack's installer in an ExecOp on
// scratch, with no network; the layer is what the installer writes to /out.
func wheelLayer(p *builder.Plan, lp builder.LayerPlan, o *options) (llb.State, error) {
	installer := llb.Local(LocalInstaller,
		llb.IncludePatterns([]string{InstallerName}),
		llb.LocalUniqueID(localID),
		llb.SharedKeyHint(LocalInstaller),
		llb.WithCustomName("hfpack: installer"))
	ro := []llb.RunOption{
		llb.Network(pb.NetMode_NONE),
		llb.AddMount("/hfpack", installer, llb.Readonly),
		llb.WithCustomName(fmt.Sprintf("hfpack: %s: installing %d wheels", lp.Name, len(lp.Wheels))),
	}
	var wheels []install.Wheel
	var local []string
	for i, w := range lp.Wheels {
		if !isHex64(w.SHA256) {
			return llb.State{}, fmt.Errorf("wheel %s: sha256 %q is not 64 hex digits", w.Filename, w.SHA256)
		}
		if w.Filename == "" || strings.ContainsAny(w.Filename, "/#") {
			return llb.State{}, fmt.Errorf("wheel %s: invalid file name %q", w.Name, w.Filename)
		}
		dir := fmt.Sprintf("/wheels/%d", i)
		url := o.wheelURL(w)
		if url == "" {
			local = append(local, w.SHA256)
			wheels = append(wheels, install.Wheel{Path: "/wheels/local/" + w.SHA256, SHA256: w.SHA256, Filename: w.Filename})
			continue
		}
		src := llb.HTTP(url, llb.Checksum(digest.NewDigestFromEncoded(digest.SHA256, w.SHA256)),
			llb.Filename(w.Filename), llb.WithCustomName("hfpack: wheel "+w.Filename))
		ro = append(ro, llb.AddMount(dir, src, llb.Readonly))
		wheels = append(wheels, install.Wheel{Path: dir + "/" + w.Filename, SHA256: w.SHA256, Filename: w.Filename})
	}
	if len(local) > 0 {
		ro = append(ro, llb.AddMount("/wheels/local", files(lp.Name, local), llb.Readonly))
	}
	args, err := install.Args(builder.SchemeFor(p.Base), p.SourceDateEpoch, "/out", wheels)
	if err != nil {
		return llb.State{}, err
	}
	argv := append(append([]string{"/hfpack/" + InstallerName}, installerSubcommand...), args...)
	ro = append(ro, llb.Args(argv))
	run := llb.Scratch().Run(ro...)
	return run.AddMount("/out", llb.Scratch()), nil
}

// filesLayer lays lp's files out on scratch in one FileOp (every
// directory above them, then each file from LocalFiles by its digest, with
// the embedded builder's modes and root ownership), then copies that tree
// onto scratch in a second FileOp whose copy stamps every entry with the
// epoch, directories after their contents. The first FileOp's directory
// times move as files land in them; the copy leaves no time but the
// epoch, so the layer needs no rewrite-timestamp.
func filesLayer(lp builder.LayerPlan, epoch time.Time) (llb.State, error) {
	var sums []string
	for _, f := range lp.Files {
		if f.Linkname == "" {
			if !isHex64(f.SHA256) {
				return llb.State{}, fmt.Errorf("layer %s: /%s: sha256 %q is not 64 hex digits", lp.Name, f.Path, f.SHA256)
			}
			sums = append(sums, f.SHA256)
		}
	}
	src := files(lp.Name, sums)
	root := &llb.ChownOpt{User: &llb.UserOpt{UID: 0}, Group: &llb.UserOpt{UID: 0}}
	var fa *llb.FileAction
	for _, d := range parents(lp.Files) {
		fa = mkdir(fa, "/"+d, *root, epoch)
	}
	for _, f := range lp.Files {
		if f.Linkname != "" {
			fa = symlink(fa, f.Linkname, "/"+f.Path, *root, epoch)
			continue
		}
		fa = copyFile(fa, src, "/"+f.SHA256, "/"+f.Path, &llb.CopyInfo{
			Mode:        &llb.ChmodOpt{Mode: fileMode(f.Mode)},
			ChownOpt:    root,
			CreatedTime: &epoch,
		})
	}
	if fa == nil {
		return llb.Scratch(), nil
	}
	name := fmt.Sprintf("hfpack: %s: %d files", lp.Name, len(lp.Files))
	stage := llb.Scratch().File(fa, llb.WithCustomName(name))
	return llb.Scratch().File(llb.Copy(stage, "/", "/", &llb.CopyInfo{
		CopyDirContentsOnly: true,
		ChownOpt:            root,
		CreatedTime:         &epoch,
	}), llb.WithCustomName(name+": fixing times")), nil
}

// mkdir, symlink and copyFile start a FileAction chain or continue it.
func mkdir(fa *llb.FileAction, p string, owner llb.ChownOpt, t time.Time) *llb.FileAction {
	opts := []llb.MkdirOption{owner, llb.WithCreatedTime(t)}
	if fa == nil {
		return llb.Mkdir(p, 0o755, opts...)
	}
	return fa.Mkdir(p, 0o755, opts...)
}

func symlink(fa *llb.FileAction, target, p string, owner llb.ChownOpt, t time.Time) *llb.FileAction {
	opts := []llb.SymlinkOption{owner, llb.WithCreatedTime(t)}
	if fa == nil {
		return llb.Symlink(target, p, opts...)
	}
	return fa.Symlink(target, p, opts...)
}

func copyFile(fa *llb.FileAction, src llb.State, from, to string, ci *llb.CopyInfo) *llb.FileAction {
	if fa == nil {
		return llb.Copy(src, from, to, ci)
	}
	return fa.Copy(src, from, to, ci)
}

// parents returns every directory above the files, sorted (so each comes
// after its own parent), as the embedded builder's tree supplies them.
func parents(fs []builder.FileRef) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range fs {
		for d := path.Dir(f.Path); d != "." && d != "/" && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

// fileMode is the mode the embedded builder's layers record for a file.
func fileMode(m fs.FileMode) fs.FileMode {
	if m&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
