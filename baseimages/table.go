package baseimages

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the catalog for people: accelerators, torch builds,
// CUDA toolkits, base images and Python runtimes, one table each.
func (c *Catalog) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }

	p("ACCELERATOR\tARCH\tCC\tMEMORY\tMACHINE TYPES\n")
	for _, a := range c.Accelerators {
		mem, types := "-", strings.Join(a.MachineTypes, ",")
		if a.MemoryGB > 0 {
			mem = fmt.Sprintf("%d GB", a.MemoryGB)
		}
		if a.Retired {
			types = "retired"
		}
		if a.OCIPlatform() != PlatformAMD64 {
			types += " (" + a.OCIPlatform() + ")"
		}
		p("%s\t%s\t%s\t%s\t%s\n", a.Name, a.Arch, a.ComputeCapability, mem, types)
	}
	p("\nTORCH\tPYPI\tBUILD\tARCHS\n")
	for _, r := range c.Torch {
		for _, v := range r.Variants {
			def := ""
			if v.CUDA == r.PyPIDefault {
				def = "default"
			}
			p("%s\t%s\t%s\t%s\n", r.Release, def, v.CUDA.Tag(), v.ArchList())
		}
	}
	p("\nCUDA\tDRIVER\tCOMPAT DRIVER\tFLOOR %s\n", VertexDriverFloor)
	for _, t := range c.CUDA {
		p("%s\t%s\t%s\t%s\n", t.Version, t.MinDriver, t.CompatDriver, floorVerdict(t, VertexDriverFloor))
	}
	p("\nIMAGE\tCUDA\tFLAVOUR\tOS\tGLIBC\tPYTHON\tDIGEST\n")
	for _, im := range c.Images {
		cuda, py := im.CUDAPatch, im.Python
		if cuda == "" {
			cuda = "-"
		}
		if py == "" {
			py = "-"
		}
		p("%s:%s\t%s\t%s\t%s %s\t%s\t%s\t%s%s\n", im.Repository, im.Tag, cuda, im.Flavour, im.OS, im.OSVersion, im.Glibc, py, shortDigest(im.Digest, im.DigestVerified), fromFile(im.Catalog))
	}
	p("\nPYTHON\tARCH\tVERSION\tGLIBC\tSHA256\tURL\n")
	for _, r := range c.Runtimes {
		p("%s\t%s\t%s\t%s\t%s\t%s%s\n", r.Python, r.Arch, r.Version, r.Glibc, shortDigest(r.SHA256, r.SHA256Verified), r.URL, fromFile(r.Catalog))
	}
	return tw.Flush()
}

// WriteJSON writes the catalog as indented JSON with snake_case fields.
func (c *Catalog) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}

// WriteText prints a selection for people: the base, the Python, the
// environment, the reasons and warnings.
func (sel Selection) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "base:    %s\n", sel.Base.Ref)
	if sel.Base.Catalog != "" {
		fmt.Fprintf(&b, "catalog: %s (the base's row)\n", sel.Base.Catalog)
	}
	if sel.Base.Mirror != "" {
		fmt.Fprintf(&b, "mirror:  %s (HFPACK_BASE_MIRROR)\n", sel.Base.Mirror)
	}
	if sel.CUDA != "" {
		fmt.Fprintf(&b, "cuda:    %s (%s flavour)\n", sel.CUDA, sel.Base.Flavour)
	}
	fmt.Fprintf(&b, "python:  %s at %s\n", sel.Python, sel.PythonPath)
	if sel.Runtime != nil {
		fmt.Fprintf(&b, "runtime: %s sha256:%s\n", sel.Runtime.URL, sel.Runtime.SHA256)
		if sel.Runtime.Catalog != "" {
			fmt.Fprintf(&b, "catalog: %s (the runtime's row)\n", sel.Runtime.Catalog)
		}
		if sel.Runtime.Mirror != "" {
			fmt.Fprintf(&b, "mirror:  %s (HFPACK_PYTHON_MIRROR)\n", sel.Runtime.Mirror)
		}
	}
	for _, e := range sel.Env {
		fmt.Fprintf(&b, "env:     %s=%s\n", e.Name, e.Value)
	}
	for _, r := range sel.Reasons {
		fmt.Fprintf(&b, "because: %s\n", r)
	}
	for _, r := range sel.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func floorVerdict(t Toolkit, floor string) string {
	switch {
	case compareDrivers(floor, t.MinDriver) >= 0:
		return "native"
	case compareDrivers(floor, t.CompatDriver) >= 0:
		return "minor-version compat"
	}
	return "refused"
}

func shortDigest(d string, verified bool) string {
	if len(d) > 19 {
		d = d[:19] + "…"
	}
	if !verified {
		d += " (unverified)"
	}
	return d
}

// fromFile marks a row that came from a catalog file.
func fromFile(catalog string) string {
	if catalog == "" {
		return ""
	}
	return " (from " + catalog + ")"
}
