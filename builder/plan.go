package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/hfpack/hfpack/builder/layer"
)

// PlanVersion is the format version of Plan; it is part of every layer key,
// so bumping it invalidates cached layers.
const PlanVersion = 1

// Plan is a pure description of an image: its base, its layers (oldest
// first) with their contents and cache keys, and its config. It marshals to
// stable JSON (`hfpack build --plan`).
type Plan struct {
	Version         int    `json:"version"`
	Name            string `json:"name"`
	Base            Base   `json:"base"`
	SourceDateEpoch int64  `json:"sourceDateEpoch"`
	// Runtime names the archive of the "python-runtime" layer, when there is one.
	Runtime *RuntimeRef `json:"runtime,omitempty"`
	Layers  []LayerPlan `json:"layers"`
	Config  Config      `json:"config"`

	// planned holds the keys of the layers NewPlan added to the cache while
	// hashing their files: Build reports them as built, not cached.
	planned sync.Map
}

// Base is the image a Plan builds on, pinned by digest.
type Base struct {
	Ref          string `json:"ref"`
	Digest       string `json:"digest"`
	Platform     string `json:"platform"`
	Python       string `json:"python,omitempty"`
	SitePackages string `json:"sitePackages,omitempty"`
	// Pull is the mirror repository the base is pulled from, by Digest.
	Pull string `json:"pull,omitempty"`
	// Catalog is the catalog file that named the base.
	Catalog string `json:"catalog,omitempty"`
	// Layout is the local OCI layout an "oci-layout:" Ref is read from
	// (BaseInput.Layout); not part of the plan's JSON or keys.
	Layout string `json:"-"`
}

// LayerPlan is one layer to add on the base.
type LayerPlan struct {
	// Name is "site-packages-<n>", "model-<n>", "app" or "sidecar".
	Name        string            `json:"name"`
	Compression layer.Compression `json:"compression"`
	// Key is the hex sha256 of everything that determines the layer's
	// bytes; the build cache is keyed by it.
	Key string `json:"key"`
	// Files are the layer's files, sorted by image path.
	Files []FileRef `json:"files,omitempty"`
	// Wheels are installed into the base's site-packages, in this order.
	Wheels []WheelRef `json:"wheels,omitempty"`
	// Size is the total size of the layer's inputs.
	Size int64 `json:"size"`
}

// FileRef is a file of a layer, named by content hash.
type FileRef struct {
	// Path is the path in the image, without the leading slash.
	Path string      `json:"path"`
	Mode fs.FileMode `json:"mode"`
	Size int64       `json:"size"`
	// SHA256 is the hex digest of the contents; empty for a symlink.
	SHA256 string `json:"sha256,omitempty"`
	// Linkname is a symlink's target; empty for a file.
	Linkname string `json:"linkname,omitempty"`
	// Source is the local file; it is not part of the layer key.
	Source string `json:"source,omitempty"`
}

// WheelRef is a wheel installed into a layer.
type WheelRef struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Filename string `json:"filename"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	// URL is where the wheel is downloaded from (the lock's); it is not
	// part of the layer key: the bytes are SHA256's wherever they come from.
	URL string `json:"url,omitempty"`
	// Source is the local wheel file; it is not part of the layer key.
	Source string `json:"source,omitempty"`
}

// Config is the part of the image config a Plan sets; everything else is
// the base's.
type Config struct {
	Entrypoint   []string          `json:"entrypoint"`
	User         string            `json:"user"`
	Env          []string          `json:"env"`
	ExposedPorts []string          `json:"exposedPorts"`
	WorkingDir   string            `json:"workingDir"`
	Labels       map[string]string `json:"labels"`
}

// ErrInvalidInputs is wrapped by every NewPlan error caused by Inputs.
var ErrInvalidInputs = errors.New("invalid build inputs")

// NewPlan hashes the inputs and returns the Plan. With WithCache, file
// hashes are remembered by path, size and modification time.
func NewPlan(ctx context.Context, in Inputs, opts ...Option) (*Plan, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	p, err := PlanLayers(in)
	if err != nil {
		return nil, err
	}
	h := hasher{ctx: ctx, cache: o.cache, storeAll: o.storeAll, planned: &p.planned}
	// Every layer of local files is read once, the layers in parallel: the
	// files' hashes and the layer itself come from the same read.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	hh := h
	hh.ctx = gctx
	for i := range p.Layers {
		if len(p.Layers[i].Files) > 0 {
			g.Go(func() error { return hh.hashLayer(p, &p.Layers[i]) })
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if in.ModelCheck != nil && in.ModelDir != "" {
		if err := in.ModelCheck(modelSums(p)); err != nil {
			return nil, err
		}
	}
	for i := range p.Layers {
		p.Layers[i].Key = layerKey(p, p.Layers[i])
	}
	return p, nil
}

// modelSums are the sha256 of the model's regular files, by path relative
// to the model directory.
func modelSums(p *Plan) map[string]string {
	base, _ := imagePath(ModelImagePath)
	sums := map[string]string{}
	for _, l := range p.Layers {
		if !strings.HasPrefix(l.Name, "model-") {
			continue
		}
		for _, f := range l.Files {
			if rel, ok := strings.CutPrefix(f.Path, base+"/"); ok && f.Linkname == "" {
				sums[rel] = f.SHA256
			}
		}
	}
	return sums
}

// PlanLayers validates in and lays out the image's layers (which wheels and
// which files go where) without reading a file's bytes: what CheckWheels needs.
// NewPlan is PlanLayers plus every file's hash and every layer's key.
func PlanLayers(in Inputs) (*Plan, error) {
	in = withDefaults(in)
	if err := validate(in); err != nil {
		return nil, err
	}
	p := &Plan{
		Version: PlanVersion,
		Name:    in.Name,
		Base: Base{Ref: in.Base.Ref, Digest: in.Base.Digest, Platform: "linux/amd64",
			Python: in.Base.Python, SitePackages: in.Base.SitePackages, Pull: in.Base.Pull, Catalog: in.Base.Catalog, Layout: in.Base.Layout},
		SourceDateEpoch: in.SourceDateEpoch,
	}
	if in.Runtime != nil {
		l, err := runtimeLayer(*in.Runtime, in.Compression.Code)
		if err != nil {
			return nil, err
		}
		p.Runtime = &RuntimeRef{URL: in.Runtime.URL, SHA256: in.Runtime.SHA256, Prefix: in.Runtime.Prefix, Catalog: in.Runtime.Catalog}
		p.Layers = append(p.Layers, l)
	}
	p.Layers = append(p.Layers, sitePackagesLayers(in)...)
	models, err := modelLayers(in)
	if err != nil {
		return nil, err
	}
	p.Layers = append(p.Layers, models...)
	for _, mk := range []func(Inputs) (LayerPlan, bool, error){appLayer, sidecarLayer} {
		l, ok, err := mk(in)
		if err != nil {
			return nil, err
		}
		if ok {
			p.Layers = append(p.Layers, l)
		}
	}
	p.Config = imageConfig(in)
	return p, nil
}

func withDefaults(in Inputs) Inputs {
	if in.User == "" {
		in.User = DefaultUser
	}
	if in.WorkingDir == "" {
		in.WorkingDir = DefaultWorkingDir
	}
	if in.Compression.Code == "" {
		in.Compression.Code = layer.Gzip
	}
	if in.Compression.Weights == "" {
		in.Compression.Weights = layer.None
	}
	if in.LargeFile <= 0 {
		in.LargeFile = DefaultLargeFile
	}
	if in.MaxModelLayers <= 0 {
		in.MaxModelLayers = DefaultMaxModelLayers
	}
	if in.MaxWheelLayers <= 0 {
		in.MaxWheelLayers = DefaultMaxWheelLayers
	}
	return in
}

func validate(in Inputs) error {
	if in.Base.Ref == "" {
		return fmt.Errorf("%w: no base image", ErrInvalidInputs)
	}
	if !strings.HasPrefix(in.Base.Digest, "sha256:") || !isHex64(strings.TrimPrefix(in.Base.Digest, "sha256:")) {
		return fmt.Errorf("%w: base %q must be pinned by a sha256 digest, got %q", ErrInvalidInputs, in.Base.Ref, in.Base.Digest)
	}
	if in.SourceDateEpoch < 0 {
		return fmt.Errorf("%w: negative SOURCE_DATE_EPOCH %d", ErrInvalidInputs, in.SourceDateEpoch)
	}
	for _, c := range []layer.Compression{in.Compression.Code, in.Compression.Weights} {
		if _, err := c.MediaType(); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidInputs, err)
		}
	}
	for _, kv := range append(append([]string(nil), in.Base.Env...), in.Env...) {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("%w: environment entry %q is not KEY=VALUE", ErrInvalidInputs, kv)
		}
		if strings.HasPrefix(k, "AIP_") {
			return fmt.Errorf("%w: %s is set by Vertex AI at run time and must not be baked into the image", ErrInvalidInputs, k)
		}
	}
	for _, w := range in.Wheels {
		if !isHex64(w.SHA256) {
			return fmt.Errorf("%w: wheel %s: sha256 %q is not 64 hex digits", ErrInvalidInputs, w.Filename, w.SHA256)
		}
	}
	if len(in.Wheels) > 0 && in.Base.SitePackages == "" {
		return fmt.Errorf("%w: wheels given but the base has no site-packages directory", ErrInvalidInputs)
	}
	return nil
}

func isHex64(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// sitePackagesLayers installs each large wheel (LargeFile or more: torch,
// the CUDA libraries) in a layer of its own, or beyond MaxWheelLayers in
// balanced groups, so they build in parallel and survive changes to the
// small ones. The small wheels share layers of about LargeFile of wheels
// each (smallGroups), so that many small wheels are laid out and
// compressed on every core too.
func sitePackagesLayers(in Inputs) []LayerPlan {
	var large, small []WheelRef
	for _, w := range in.Wheels {
		ref := WheelRef{Name: w.Name, Version: w.Version, Filename: w.Filename, SHA256: w.SHA256, Size: w.Size, URL: w.URL, Source: w.Path}
		if w.Size >= in.LargeFile {
			large = append(large, ref)
		} else {
			small = append(small, ref)
		}
	}
	groups := balance(large, in.MaxWheelLayers,
		func(w WheelRef) int64 { return w.Size }, func(w WheelRef) string { return w.Filename })
	groups = append(groups, smallGroups(small, in.LargeFile, in.MaxWheelLayers)...)
	out := make([]LayerPlan, len(groups))
	for i, ws := range groups {
		sort.Slice(ws, func(i, j int) bool {
			if ws[i].Name != ws[j].Name {
				return ws[i].Name < ws[j].Name
			}
			return ws[i].Filename < ws[j].Filename
		})
		out[i] = LayerPlan{Name: fmt.Sprintf("site-packages-%d", i), Compression: in.Compression.Code, Wheels: ws}
		for _, w := range ws {
			out[i].Size += w.Size
		}
	}
	return out
}

// smallGroups splits the small wheels into one group per target bytes of
// wheels (at least one, at most max), each wheel placed by a jump
// consistent hash of its name (Lamping and Veach, 2014): a new version of
// one wheel changes only its own group, where a split by size would move
// others, and when the wheels outgrow their groups and one more is added,
// only the wheels that go to the new group move. Empty groups are dropped.
func smallGroups(small []WheelRef, target int64, max int) [][]WheelRef {
	if len(small) == 0 {
		return nil
	}
	var total int64
	for _, w := range small {
		total += w.Size
	}
	n := int(min(int64(max), (total+target-1)/target))
	n = min(n, len(small))
	if n <= 1 {
		return [][]WheelRef{small}
	}
	groups := make([][]WheelRef, n)
	for _, w := range small {
		h := fnv.New64a()
		h.Write([]byte(w.Name))
		i := jumpHash(h.Sum64(), n)
		groups[i] = append(groups[i], w)
	}
	return slices.DeleteFunc(groups, func(g []WheelRef) bool { return len(g) == 0 })
}

// jumpHash returns key's bucket among n: when n grows by one, a key keeps
// its bucket or moves to the new one.
func jumpHash(key uint64, n int) int {
	var b, j int64 = -1, 0
	for j < int64(n) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int(b)
}

func appLayer(in Inputs) (LayerPlan, bool, error) {
	if len(in.AppFiles) == 0 {
		return LayerPlan{}, false, nil
	}
	l := LayerPlan{Name: "app", Compression: in.Compression.Code}
	for _, f := range in.AppFiles {
		ref, err := fileRef(f.Path, f.Source, f.Mode)
		if err != nil {
			return LayerPlan{}, false, err
		}
		l.Files = append(l.Files, ref)
	}
	return finish(l)
}

func sidecarLayer(in Inputs) (LayerPlan, bool, error) {
	if in.SidecarPath == "" {
		return LayerPlan{}, false, nil
	}
	ref, err := fileRef(SidecarImagePath, in.SidecarPath, 0o755)
	if err != nil {
		return LayerPlan{}, false, err
	}
	return finish(LayerPlan{Name: "sidecar", Compression: in.Compression.Code, Files: []FileRef{ref}})
}

// finish sorts a layer's files, rejects duplicates and sums their sizes.
func finish(l LayerPlan) (LayerPlan, bool, error) {
	sort.Slice(l.Files, func(i, j int) bool { return l.Files[i].Path < l.Files[j].Path })
	l.Size = 0
	for i, f := range l.Files {
		if i > 0 && l.Files[i-1].Path == f.Path {
			return LayerPlan{}, false, fmt.Errorf("%w: two files for /%s in layer %s", ErrInvalidInputs, f.Path, l.Name)
		}
		l.Size += f.Size
	}
	return l, true, nil
}

// layerKey hashes what determines a layer's bytes: the layer format, the
// compression, the epoch and the contents (without local paths).
func layerKey(p *Plan, l LayerPlan) string {
	type keyFile struct {
		Path     string
		Mode     fs.FileMode
		Size     int64
		SHA256   string
		Linkname string
	}
	type keyWheel struct{ Name, Version, Filename, SHA256 string }
	k := struct {
		Format       string
		Compression  layer.Compression
		Epoch        int64
		Python       string `json:",omitempty"`
		SitePackages string `json:",omitempty"`
		Files        []keyFile
		Wheels       []keyWheel
	}{Format: fmt.Sprintf("hfpack-layer/%d/%d", PlanVersion, layer.FormatVersion), Compression: l.Compression, Epoch: p.SourceDateEpoch}
	if len(l.Wheels) > 0 {
		k.Python, k.SitePackages = p.Base.Python, p.Base.SitePackages
	}
	for _, f := range l.Files {
		k.Files = append(k.Files, keyFile{f.Path, normMode(f.Mode, f.Linkname != ""), f.Size, f.SHA256, f.Linkname})
	}
	for _, w := range l.Wheels {
		k.Wheels = append(k.Wheels, keyWheel{w.Name, w.Version, w.Filename, w.SHA256})
	}
	b, err := json.Marshal(k)
	if err != nil {
		panic(err) // plain structs of strings and integers always marshal
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// normMode is the mode a layer records for a file: 0o755 when any execute
// bit is set, else 0o644; 0o777 for symlinks.
func normMode(m fs.FileMode, symlink bool) fs.FileMode {
	switch {
	case symlink:
		return 0o777
	case m&0o111 != 0:
		return 0o755
	}
	return 0o644
}

// imagePath turns an absolute image path into a layer path.
func imagePath(p string) (string, error) {
	if !path.IsAbs(p) {
		return "", fmt.Errorf("%w: image path %q is not absolute", ErrInvalidInputs, p)
	}
	return strings.TrimPrefix(path.Clean(p), "/"), nil
}
