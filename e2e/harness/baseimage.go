package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gofrs/flock"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Labels the base image carries, read from the rootfs's dpkg database.
const (
	// LabelPython is the CPython major.minor version, e.g. "3.11".
	LabelPython = "org.hfpack.python"
	// LabelGlibc is the glibc major.minor version, e.g. "2.36".
	LabelGlibc = "org.hfpack.glibc"
	// LabelSuite is the Debian suite, e.g. "bookworm".
	LabelSuite = "org.hfpack.debian.suite"
)

// baseFormat changes whenever the way a base is assembled changes, so old cache entries are
// not reused.
const baseFormat = "hfpack-e2e-base/1"

// BaseSpec names the inputs of a Debian-based base image; the cache is keyed by all of them.
type BaseSpec struct {
	// Suite is the Debian suite, e.g. "bookworm".
	Suite string
	// Packages are installed on top of debootstrap's minbase variant.
	Packages []string
	// Mirror is the Debian archive URL.
	Mirror string
}

// DefaultBase is bookworm's CPython 3.11 with its full standard library (python3, not
// python3-minimal: hfpack's worker needs http.server and json), from this machine's apt mirror.
// HFPACK_E2E_MIRROR overrides the mirror.
func DefaultBase() BaseSpec {
	mirror := os.Getenv("HFPACK_E2E_MIRROR")
	if mirror == "" {
		mirror = aptMirror("bookworm")
	}
	return BaseSpec{Suite: "bookworm", Packages: []string{"python3"}, Mirror: mirror}
}

// key is the cache key: a digest of the format and every input, packages sorted.
func (s BaseSpec) key() string {
	pkgs := slices.Sorted(slices.Values(s.Packages))
	b, _ := json.Marshal([]any{baseFormat, s.Suite, pkgs, s.Mirror})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// BaseImage is a base image in an OCI layout.
type BaseImage struct {
	// Layout is the OCI layout directory, holding exactly this image. It lives in the shared
	// cache: do not write to it.
	Layout string
	// Image is the image, read from Layout.
	Image v1.Image
	// Digest is the image manifest's digest.
	Digest v1.Hash
}

// Base returns the base image for spec from the cache, building it first when absent (debootstrap
// as root; a few minutes uncached). It calls Unavailable when it cannot be built here.
func Base(t testing.TB, spec BaseSpec) *BaseImage {
	t.Helper()
	cache, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "base", spec.key())
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		RequireRoot(t, "building the base image with debootstrap")
		LookPath(t, "debootstrap", "debootstrap")
	}
	b, err := EnsureBase(t.Context(), cache, spec)
	if err != nil {
		t.Fatalf("base image: %v", err)
	}
	return b
}

// EnsureBase returns the base image for spec from the cache directory, building it when absent.
// Concurrent callers, in one process or several, build it once.
func EnsureBase(ctx context.Context, cache string, spec BaseSpec) (*BaseImage, error) {
	dir := filepath.Join(cache, "base", spec.key())
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	lock := flock.New(dir + ".lock")
	if err := lock.Lock(); err != nil {
		return nil, fmt.Errorf("locking the base cache: %w", err)
	}
	defer lock.Unlock()
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		if err := buildBase(ctx, spec, dir); err != nil {
			return nil, fmt.Errorf("building base %s %v from %s: %w", spec.Suite, spec.Packages, spec.Mirror, err)
		}
	}
	return readBase(dir)
}

// buildBase assembles the rootfs in a temporary directory next to dir and publishes the OCI
// layout by renaming it to dir.
func buildBase(ctx context.Context, spec BaseSpec, dir string) error {
	tmp, err := tempBuildDir(dir)
	if err != nil {
		return err
	}
	// debootstrap mounts /proc and /sys in the target: unmount what a failure left behind.
	defer removeMounted(tmp)
	rootfs := filepath.Join(tmp, "rootfs")
	if err := debootstrap(ctx, spec, rootfs); err != nil {
		return err
	}
	if slices.ContainsFunc(spec.Packages, func(p string) bool { return p == "python3" || p == "python3-minimal" }) {
		if err := compilePython(ctx, rootfs); err != nil {
			return err
		}
	}
	if err := trimRootfs(rootfs); err != nil {
		return err
	}
	img, err := rootfsImage(spec, rootfs)
	if err != nil {
		return err
	}
	out := filepath.Join(tmp, "layout")
	p, err := layout.Write(out, empty.Index)
	if err != nil {
		return err
	}
	ann := map[string]string{"org.opencontainers.image.ref.name": spec.Suite}
	if err := p.AppendImage(img, layout.WithAnnotations(ann)); err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	return os.Rename(out, dir)
}

// rootfsImage makes a one-layer linux/amd64 image of rootfs with PATH set, no command, and
// labels naming the Python and glibc versions.
func rootfsImage(spec BaseSpec, rootfs string) (v1.Image, error) {
	vers, err := dpkgVersions(rootfs, "libc6")
	if err != nil {
		return nil, err
	}
	labels := map[string]string{LabelGlibc: upstreamMajorMinor(vers["libc6"]), LabelSuite: spec.Suite}
	if py, err := dpkgVersions(rootfs, "python3-minimal"); err == nil {
		labels[LabelPython] = upstreamMajorMinor(py["python3-minimal"])
	}
	layer, err := tarball.LayerFromOpener(rootfsOpener(rootfs), tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{
		Created:   v1.Time{Time: layerEpoch},
		CreatedBy: fmt.Sprintf("debootstrap --variant=minbase --include=%v %s", spec.Packages, spec.Suite),
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Created = v1.Time{Time: layerEpoch}
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cf.Config.Labels = labels
	return mutate.ConfigFile(img, cf)
}

func readBase(dir string) (*BaseImage, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the base layout %s: %w", dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("base layout %s holds %d manifests, want 1 (remove it to rebuild)", dir, len(m.Manifests))
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		return nil, err
	}
	return &BaseImage{Layout: dir, Image: img, Digest: m.Manifests[0].Digest}, nil
}

// Push pushes the base to repo in the registry by digest and returns the digest reference.
func (b *BaseImage) Push(t testing.TB, r *Registry, repo string) name.Digest {
	t.Helper()
	ref := r.Repository(repo).Digest(b.Digest.String())
	if err := remote.Write(ref, b.Image, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("pushing the base to %s: %v", ref, err)
	}
	return ref
}
