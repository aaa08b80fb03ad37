package commands

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hfpack/hfpack/builder/imports"
	"github.com/hfpack/hfpack/builder/modelcheck"
	"github.com/hfpack/hfpack/cmd/hfpack/internal/ui"
	"github.com/hfpack/hfpack/manifest"
	"github.com/hfpack/hfpack/pipeline"
)

// CheckReport is what `hfpack check` found; `--json` prints it.
type CheckReport struct {
	Manifest    string             `json:"manifest"`
	Name        string             `json:"name"`
	Accelerator string             `json:"accelerator"`
	Python      string             `json:"python"`
	Checks      []Check            `json:"checks"`
	Model       *modelcheck.Report `json:"model,omitempty"`
	Base        string             `json:"base,omitempty"`
	Imports     []imports.Resolved `json:"imports,omitempty"`
	Warnings    []string           `json:"warnings,omitempty"`
}

// Check is one passed check with a one-line summary.
type Check struct {
	Name   string `json:"name"`
	Result string `json:"result"`
}

func newCheck(g *globals) *cobra.Command {
	var cacheDir string
	cmd := &cobra.Command{
		Use:   "check [MANIFEST]",
		Short: "Validate the manifest, model, lock, accelerator and handler imports without building",
		Long: `check runs every build-time validation without building, in this order: the
manifest's keys and values, the lock's freshness, the base image for the
accelerator (an impossible GPU or driver is refused here, before anything is
downloaded), the model directory, and the handler's imports against the
locked wheels (which are downloaded into the cache to read their file lists),
and the wheels' files against the image's: a wheel file that would replace a
file of the base, of hfpack's layers or of another wheel is refused (when the
wheels, the base or the Python runtime cannot be reached, a warning says what
was not checked).
It stops at the first failing stage, naming the file, the cause and the fix.
check is build's preflight: it refuses everything build would refuse before
writing a byte, with the same message.

The model is a local directory (model.path) or a Hub model (model.source =
"hf://ORG/NAME"): check fetches a Hub model's files at the commit the lock
pins into the cache, as build does, verifies each against its size and
sha256 in the lock, and checks them as it would a directory. HF_ENDPOINT
selects the Hub; model.token-env (default HF_TOKEN) names the variable
holding a token for gated or private models.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := runCheck(cmd.Context(), g.ui, manifestArg(args), cacheDir)
			if err != nil {
				return err
			}
			return g.ui.Result(r, func(w io.Writer) error {
				for _, c := range r.Checks {
					fmt.Fprintf(w, "ok  %-12s %s\n", c.Name, c.Result)
				}
				for _, wmsg := range r.Warnings {
					fmt.Fprintf(w, "warning: %s\n", wmsg)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&cacheDir, "cache-dir", "", "cache directory (default $HFPACK_CACHE_DIR or the user cache dir)")
	return cmd
}

func runCheck(ctx context.Context, u *ui.UI, path, cacheDir string) (*CheckReport, error) {
	p, err := openProject(u, path)
	if err != nil {
		return nil, err
	}
	m := p.Manifest
	pf, err := p.Preflight(ctx, pipeline.PreflightOptions{CacheDir: cacheDir, Offline: true, CheckWheels: true, Wait: func() { u.Infof("waiting for a cache prune to finish") }})
	if err != nil {
		return nil, err
	}
	sel, mr := pf.Selection, pf.Model
	r := &CheckReport{Manifest: m.File, Name: m.Name, Accelerator: m.Accelerator.Type, Python: m.Python.Version, Base: sel.Base.Ref, Model: mr, Warnings: pf.Warnings}
	r.add("manifest", "%s: %d requirements, accelerator %s", m.File, len(m.Python.Requirements), describeAccelerator(m))
	r.add("lock", "%s is current: %d packages", p.RelLock(), len(p.Lock.Packages))
	r.add("accelerator", "%s: base %s%s", describeAccelerator(m), sel.Base.Ref, cudaNote(sel.CUDA))
	if rt := sel.Runtime; rt != nil {
		r.add("python", "CPython %s runtime at %s, sha256 %s verified", rt.Version, rt.Prefix, rt.SHA256[:12])
	}
	r.add("model", "%s%s, %s, %d files, %s", hubNote(p), mr.ModelType, mr.Format, mr.Files, ui.HumanBytes(mr.Size))
	if h := m.HandlerPath(); h != "" {
		switch {
		case pf.ImportsSkipped != nil:
			// Offline and nothing cached: every other check stands; the
			// build, which needs the wheels anyway, checks the imports.
			r.add("imports", "%s: not checked: the locked wheels are not cached and the index is unreachable", filepath.Base(h))
		default:
			r.Imports = pf.Imports.Resolved
			r.add("imports", "%s: %s", filepath.Base(h), summarizeImports(pf.Imports))
		}
	}
	switch {
	case pf.WheelsChecked:
		r.add("wheels", "%d wheels install without replacing a file of the image", len(pf.Wheels))
	case pf.WheelsSkipped != nil:
		r.add("wheels", "not checked against the image's files (see the warning)")
	}
	return r, nil
}

func (r *CheckReport) add(name, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, Result: fmt.Sprintf(format, args...)})
}

func summarizeImports(res *imports.Result) string {
	counts := map[string]int{}
	for _, r := range res.Resolved {
		counts[r.Kind]++
	}
	var parts []string
	for _, k := range []string{imports.KindStdlib, imports.KindLocked, imports.KindLocal} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	if len(parts) == 0 {
		return "no imports"
	}
	return "imports resolved (" + strings.Join(parts, ", ") + ")"
}

func cudaNote(cuda string) string {
	if cuda == "" {
		return ""
	}
	return ", CUDA " + cuda
}

func describeAccelerator(m *manifest.Manifest) string {
	if !m.Accelerator.GPU() {
		return "cpu"
	}
	return fmt.Sprintf("%d x %s", m.Accelerator.Count, m.Accelerator.Type)
}
