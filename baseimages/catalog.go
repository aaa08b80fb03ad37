package baseimages

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sync"

	"github.com/hfpack/hfpack/accelerators"
)

//go:embed data/*.json
var ownData embed.FS

// dataFS is the shipped catalog: this package's tables and the accelerator
// table of package accelerators, both under data/.
var dataFS fs.FS = unionFS{ownData, accelerators.FS}

// Catalog is everything Select knows: accelerators, CUDA toolkits, torch
// builds, base images and Python runtimes. Every table is sorted by its key.
type Catalog struct {
	// Accelerators are the Vertex accelerator types, by name.
	Accelerators []Accelerator `json:"accelerators"`
	// CUDA are the CUDA toolkits, by version.
	CUDA []Toolkit `json:"cuda"`
	// Torch are the torch releases, by release.
	Torch []TorchRelease `json:"torch"`
	// Images are the base images, by repository then tag.
	Images []Image `json:"images"`
	// Runtimes are the relocatable Python runtimes, by Python version.
	Runtimes []PythonRuntime `json:"runtimes"`
	// SystemCUDA lists packages that need CUDA libraries from the base image
	// rather than from nvidia-* wheels, by name.
	SystemCUDA []SystemCUDARule `json:"system_cuda"`
}

// SystemCUDARule says a locked package needs a larger base flavour, unless
// the lock also carries the wheels that bring the libraries.
type SystemCUDARule struct {
	// Name is the normalized package name.
	Name string `json:"name"`
	// Flavour is the smallest flavour that carries what it needs.
	Flavour string `json:"flavour"`
	// Unless names packages whose presence (all of them) makes the rule moot.
	Unless []string `json:"unless,omitempty"`
	// Why explains what the package loads from the system.
	Why string `json:"why"`
	// Source says where the row's facts came from.
	Source string `json:"source"`
}

// Default returns the catalog embedded in the binary. It panics if the
// embedded data is invalid, which the package tests rule out.
func Default() *Catalog { return defaultCatalog() }

var defaultCatalog = sync.OnceValue(func() *Catalog {
	c, err := Load(dataFS)
	if err != nil {
		panic(fmt.Sprintf("baseimages: embedded catalog: %v", err))
	}
	return c
})

// Load reads a catalog from the *.json files under data/ in fsys (the layout
// of this package's data directory) and checks its integrity.
func Load(fsys fs.FS) (*Catalog, error) {
	names, err := fs.Glob(fsys, "data/*.json")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("loading catalog: no data/*.json files")
	}
	c := &Catalog{}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("loading catalog: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(c); err != nil {
			return nil, fmt.Errorf("loading catalog %s: %w", path.Base(name), err)
		}
	}
	for i := range c.Images {
		c.Images[i].Ref = c.Images[i].ref()
	}
	if err := c.Check(); err != nil {
		return nil, err
	}
	return c, nil
}

// Toolkit returns the catalog row for CUDA version v.
func (c *Catalog) Toolkit(v CUDAVersion) (Toolkit, bool) {
	for _, t := range c.CUDA {
		if t.Version == v {
			return t, true
		}
	}
	return Toolkit{}, false
}

// Runtime returns the Python runtime for a major.minor version on arch
// (ArchX86_64, ArchAarch64).
func (c *Catalog) Runtime(python, arch string) (PythonRuntime, bool) {
	for _, r := range c.Runtimes {
		if r.Python == python && r.Arch == arch {
			return r, true
		}
	}
	return PythonRuntime{}, false
}

// NewestTorch returns the newest torch release the catalog knows.
func (c *Catalog) NewestTorch() string {
	if len(c.Torch) == 0 {
		return ""
	}
	return c.Torch[len(c.Torch)-1].Release
}
