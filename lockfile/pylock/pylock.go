package pylock

import (
	"time"

	"github.com/hfpack/hfpack/python/pep508"
)

// FileName is the default lock file name.
const FileName = "pylock.toml"

// LockVersion is the lock-version hfpack writes.
const LockVersion = "1.0"

// CreatedBy is the created-by value hfpack writes.
const CreatedBy = "hfpack"

// Lock is a pylock.toml document.
type Lock struct {
	// LockVersion is the file format version, "1.0".
	LockVersion string
	// Environments lists the marker expressions the lock is valid for.
	Environments []string
	// RequiresPython is the Python version specifier the lock supports.
	RequiresPython string
	// Extras, DependencyGroups and DefaultGroups are written as given
	// (sorted); hfpack leaves them empty.
	Extras           []string
	DependencyGroups []string
	DefaultGroups    []string
	// CreatedBy names the tool that wrote the lock.
	CreatedBy string
	// Packages are the locked packages.
	Packages []Package
	// HFPack is the [tool.hfpack] table, if present.
	HFPack *HFPack
}

// Package is one [[packages]] entry.
type Package struct {
	// Name is the normalised project name.
	Name string
	// Version is the exact version string.
	Version string
	// Marker, when set, limits the package to environments matching it.
	Marker string
	// RequiresPython is the package's requires-python, if any.
	RequiresPython string
	// Dependencies are the normalised names of the locked packages this
	// one needs in the lock's target environment (PEP 751's
	// [[packages.dependencies]], written as {name = "..."} tables). nil
	// means the lock does not say (the key is absent: a lock from an
	// older hfpack or another tool); an empty, non-nil list means none.
	Dependencies []string
	// Index is the simple-API base URL the package came from (no
	// credentials).
	Index string
	// Wheels holds the package's wheels; hfpack writes exactly one.
	Wheels []Wheel
}

// Wheel is one [[packages.wheels]] entry.
type Wheel struct {
	// Name is the wheel filename.
	Name string
	// URL is where the wheel is downloaded from (no credentials).
	URL string
	// UploadTime is when the file was uploaded; zero omits the key.
	UploadTime time.Time
	// Size is the file size in bytes; 0 omits the key.
	Size int64
	// SHA256 is the lower-case hex sha256, written as hashes.sha256.
	SHA256 string
}

// HFPack is the [tool.hfpack] table.
type HFPack struct {
	// RequirementsDigest identifies the manifest requirements the lock was
	// resolved from ("sha256:<hex>"); a mismatch means the lock is stale.
	RequirementsDigest string
	// Python is the target interpreter version, such as "3.11.9".
	Python string
	// Platform is the target platform tag, such as "manylinux_2_35_x86_64".
	Platform string
	// Glibc is the target image's glibc version, such as "2.35".
	Glibc string
	// Model, for a model from the Hugging Face Hub, pins its repository
	// and commit ([tool.hfpack.model]); nil for a local model directory.
	Model *HubModel
	// ModelFiles records model files by path, size and sha256.
	ModelFiles []ModelFile
}

// HubModel is the [tool.hfpack.model] table: where a Hub model's files
// (ModelFiles) come from.
type HubModel struct {
	// Source is the manifest's model.source, "hf://ORG/NAME".
	Source string
	// Revision is the manifest's model.revision the commit was resolved from.
	Revision string
	// Commit is the 40-hex commit the files are fetched at.
	Commit string
	// Include and Exclude are the manifest's selection the files came from.
	Include []string
	Exclude []string
	// TrustRemoteCode records that the selection took the repository's *.py
	// files (the manifest's model.trust-remote-code).
	TrustRemoteCode bool
}

// ModelFile is one [[tool.hfpack.model-files]] entry.
type ModelFile struct {
	Path   string
	Size   int64
	SHA256 string
}

// Normalize returns the PEP 503 normalised form of a project name.
func Normalize(name string) string { return pep508.NormalizeName(name) }

// Package returns the package named name (any spelling), if present.
func (l *Lock) Package(name string) (Package, bool) {
	n := Normalize(name)
	for _, p := range l.Packages {
		if Normalize(p.Name) == n {
			return p, true
		}
	}
	return Package{}, false
}
