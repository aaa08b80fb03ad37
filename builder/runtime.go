package builder

import (
	"fmt"
	"path"

	"github.com/hfpack/hfpack/builder/layer"
)

// RuntimeLayerName names the layer holding an added Python runtime.
const RuntimeLayerName = "python-runtime"

// RuntimeRef records where the Python runtime layer's files came from.
type RuntimeRef struct {
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
	Prefix string `json:"prefix"`
	// Catalog is the catalog file that named the runtime.
	Catalog string `json:"catalog,omitempty"`
}

// runtimeLayer lists an extracted Python runtime under its image prefix,
// unhashed (NewPlan hashes it). It is the layer right above the base: it
// changes only with the Python version.
func runtimeLayer(rt Runtime, comp layer.Compression) (LayerPlan, error) {
	if rt.Dir == "" || !path.IsAbs(rt.Prefix) {
		return LayerPlan{}, fmt.Errorf("%w: the Python runtime needs a local directory and an absolute image prefix, got %q and %q", ErrInvalidInputs, rt.Dir, rt.Prefix)
	}
	if !isHex64(rt.SHA256) {
		return LayerPlan{}, fmt.Errorf("%w: the Python runtime archive %s is not pinned by sha256", ErrInvalidInputs, rt.URL)
	}
	files, err := walkDir(rt.Dir, rt.Prefix)
	if err != nil {
		return LayerPlan{}, err
	}
	l, _, err := finish(LayerPlan{Name: RuntimeLayerName, Compression: comp, Files: files})
	return l, err
}
