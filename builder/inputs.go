package builder

import (
	"io/fs"

	"github.com/hfpack/hfpack/builder/layer"
	"github.com/hfpack/hfpack/imagespec"
)

// Inputs is everything a build depends on, resolved to local files and
// digests. The caller (hfpack's build command) fills it from the manifest,
// the lock and the selected base.
type Inputs struct {
	// Name is the image's name (used for labels and docker-archive tags).
	Name string
	// Base is the image built on.
	Base BaseInput
	// Runtime is the Python runtime to add when the base has none; nil
	// when the base's own Python is used.
	Runtime *Runtime
	// Wheels are the locked wheels to install into Base.SitePackages.
	Wheels []Wheel
	// ModelDir is the local model directory; empty for none.
	ModelDir string
	// ModelCheck, when set, is called by NewPlan with the sha256 of every
	// regular file of ModelDir, by slash-separated path relative to it,
	// hashed in the same read that makes the model's layers; an error from
	// it fails NewPlan. It checks the model against what a lock pinned
	// without reading the weights a second time.
	ModelCheck func(sums map[string]string) error `json:"-"`
	// AppFiles are the worker, the handler and the sidecar configuration.
	AppFiles []File
	// SidecarPath is the local sidecar binary, installed as SidecarImagePath.
	SidecarPath string
	// Env is added to the base's environment. AIP_* variables are refused.
	Env []string
	// Labels are added to the image config (manifest and lock digests are
	// better given in ManifestDigest and LockDigest).
	Labels map[string]string
	// ManifestDigest, LockDigest and Version are recorded as labels.
	ManifestDigest, LockDigest, Version string
	// User is the runtime user; default DefaultUser.
	User string
	// WorkingDir is the runtime working directory; default DefaultWorkingDir.
	WorkingDir string
	// SourceDateEpoch fixes every timestamp (seconds, UTC); 0 is the Unix epoch.
	SourceDateEpoch int64
	// Compression chooses codecs; zero fields take the defaults.
	Compression Compression
	// LargeFile is the size from which a model file or a wheel is "large"
	// and gets a layer of its own; default DefaultLargeFile.
	LargeFile int64
	// MaxModelLayers caps the number of layers for large model files;
	// default DefaultMaxModelLayers. Beyond it, large files share layers in
	// balanced groups.
	MaxModelLayers int
	// MaxWheelLayers caps the number of layers for large wheels; default
	// DefaultMaxWheelLayers.
	MaxWheelLayers int
}

// BaseInput is the selected base image.
type BaseInput struct {
	// Ref is a registry reference ("nvcr.io/nvidia/cuda:12.4.1-runtime") or
	// "oci-layout:PATH".
	Ref string
	// Digest pins the base ("sha256:..."), an image or an index.
	Digest string
	// Pull is the repository the base is pulled from when it differs from
	// Ref's (a mirror: HFPACK_BASE_MIRROR); the labels keep Ref, and the
	// digest is the same, so the image is too.
	Pull string
	// Catalog is the catalog file that named the base, "" for hfpack's own
	// catalog or [image] base; recorded in the plan.
	Catalog string
	// Layout is the local OCI layout directory an "oci-layout:" Ref names,
	// made absolute: where both backends read the base from. It is
	// machine-specific, so it stays out of the plan's JSON and keys.
	Layout string
	// Env is the base's environment, as the base catalog records it.
	Env []string
	// GPU adds /usr/local/nvidia to PATH and LD_LIBRARY_PATH.
	GPU bool
	// Python is the interpreter's path in the image.
	Python string
	// SitePackages is the site-packages directory in the image.
	SitePackages string
}

// Runtime is a relocatable Python (a python-build-standalone install_only
// build), already downloaded, verified and extracted.
type Runtime struct {
	// Dir is the local directory holding the extracted interpreter tree
	// (bin/, lib/, ...).
	Dir string
	// Prefix is where Dir goes in the image: "/opt/hfpack/python".
	Prefix string
	// URL and SHA256 name the archive Dir came from; the Plan records them
	// so a remote builder can fetch it itself.
	URL, SHA256 string
	// Catalog is the catalog file that named the runtime, "" for hfpack's
	// own catalog; recorded in the plan.
	Catalog string
}

// Wheel is one locked wheel, already downloaded.
type Wheel struct {
	Name, Version, Filename string
	// Path is the local wheel file.
	Path string
	// SHA256 is the hex digest the lock records; the installer checks it.
	SHA256 string
	Size   int64
	// URL is where the lock says the wheel is downloaded from: a BuildKit
	// daemon fetches it itself, checked against SHA256.
	URL string
}

// File is a local file placed in the image.
type File struct {
	// Path is the absolute path in the image: "/opt/hfpack/worker/handler.py".
	Path string
	// Source is the local file.
	Source string
	// Mode is normalised to 0o755 when any execute bit is set, else 0o644.
	Mode fs.FileMode
}

// Compression chooses the codec of code layers and of model layers.
type Compression struct {
	// Code applies to site-packages, app and sidecar; default layer.Gzip.
	Code layer.Compression
	// Weights applies to model layers; default layer.None.
	Weights layer.Compression
}

// Defaults for Inputs fields left zero.
const (
	DefaultUser           = imagespec.User
	DefaultWorkingDir     = imagespec.WorkerDir
	DefaultLargeFile      = 64 << 20
	DefaultMaxModelLayers = 16
	DefaultMaxWheelLayers = 8
	ModelImagePath        = imagespec.ModelDir
	SidecarImagePath      = imagespec.SidecarPath
	// Port is the port the sidecar listens on by default.
	Port = imagespec.ExposedPort
)

// Label keys written into the image config.
const (
	LabelManifestDigest = "dev.hfpack.manifest.digest"
	LabelLockDigest     = "dev.hfpack.lock.digest"
	LabelVersion        = "dev.hfpack.version"
	LabelPackages       = "dev.hfpack.packages"
	LabelBaseDigest     = "org.opencontainers.image.base.digest"
	LabelBaseName       = "org.opencontainers.image.base.name"
)
