package baseimages

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// DataFiles renders the catalog as the data files it is loaded from, by
// file name (accelerators.json, cuda.json, ...), each table sorted by its
// key, one row per line. cmd/refresh writes them; a catalog loaded from the
// data directory renders back to the same bytes.
func (c *Catalog) DataFiles() (map[string][]byte, error) {
	c.Sort()
	images := slices.Clone(c.Images)
	for i := range images {
		images[i].Ref = ""
	}
	files := map[string]struct {
		key  string
		rows any
	}{
		"accelerators.json": {"accelerators", c.Accelerators},
		"cuda.json":         {"cuda", c.CUDA},
		"images.json":       {"images", images},
		"runtimes.json":     {"runtimes", c.Runtimes},
		"system_cuda.json":  {"system_cuda", c.SystemCUDA},
		"torch.json":        {"torch", c.Torch},
	}
	out := make(map[string][]byte, len(files))
	for name, f := range files {
		b, err := formatTable(f.key, f.rows)
		if err != nil {
			return nil, fmt.Errorf("rendering %s: %w", name, err)
		}
		out[name] = b
	}
	return out, nil
}

// Sort orders every table by its key, as Check expects.
func (c *Catalog) Sort() {
	slices.SortStableFunc(c.Accelerators, func(a, b Accelerator) int { return strings.Compare(a.Name, b.Name) })
	slices.SortStableFunc(c.CUDA, func(a, b Toolkit) int { return a.Version.Compare(b.Version) })
	slices.SortStableFunc(c.Torch, func(a, b TorchRelease) int { return compareRelease(a.Release, b.Release) })
	for _, r := range c.Torch {
		slices.SortStableFunc(r.Variants, func(a, b TorchVariant) int { return a.CUDA.Compare(b.CUDA) })
	}
	slices.SortStableFunc(c.Images, compareImages)
	slices.SortStableFunc(c.Runtimes, compareRuntimes)
	slices.SortStableFunc(c.SystemCUDA, func(a, b SystemCUDARule) int { return cmp.Compare(a.Name, b.Name) })
}

// formatTable writes {"key": [rows]} with one compact row per line.
func formatTable(key string, rows any) ([]byte, error) {
	var raw []json.RawMessage
	b, err := marshal(rows)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "{\n  %q: [\n", key)
	for i, row := range raw {
		out.WriteString("    " + spaceJSON(row))
		if i < len(raw)-1 {
			out.WriteByte(',')
		}
		out.WriteByte('\n')
	}
	out.WriteString("  ]\n}\n")
	return out.Bytes(), nil
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(b.Bytes()), nil
}

// spaceJSON puts a space after each ',' and ':' outside strings of compact
// JSON, keeping key order.
func spaceJSON(compact []byte) string {
	var out strings.Builder
	inString, escaped := false, false
	for _, ch := range compact {
		out.WriteByte(ch)
		switch {
		case escaped:
			escaped = false
		case inString && ch == '\\':
			escaped = true
		case ch == '"':
			inString = !inString
		case !inString && (ch == ',' || ch == ':'):
			out.WriteByte(' ')
		}
	}
	return out.String()
}
