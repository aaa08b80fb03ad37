package commands

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/hfpack/hfpack/builder/modelcheck"
	"github.com/hfpack/hfpack/cmd/hfpack/internal/ui"
	"github.com/hfpack/hfpack/manifest"
)

// CheckReport is what `hfpack check` found; `--json` prints it.
type CheckReport struct {
	Manifest    string             `json:"manifest"`
	Name        string             `json:"name"`
	Accelerator string             `json:"accelerator"`
	Python      string             `json:"python"`
	Checks      []Check            `json:"checks"`
	Model       *modelcheck.Report `json:"model,omitempty"`
	Warnings    []string           `json:"warnings,omitempty"`
}

// Check is one passed check with a one-line summary.
type Check struct {
	Name   string `json:"name"`
	Result string `json:"result"`
}

func newCheck(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "check [MANIFEST]",
		Short: "Validate the manifest, model, lock and accelerator without building",
		Long: `check runs every build-time validation without building: the manifest's keys
and values, the model directory, the lock's freshness and the accelerator's
compatibility with the locked CUDA packages. It exits 1 on the first failing
stage, naming the file, the cause and the fix.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := loadManifest(args)
			if err != nil {
				return err
			}
			r := &CheckReport{Manifest: m.File, Name: m.Name, Accelerator: m.Accelerator.Type, Python: m.Python.Version}
			r.Checks = append(r.Checks, Check{"manifest", fmt.Sprintf("%s: %d requirements, accelerator %s", m.File, len(m.Python.Requirements), describeAccelerator(m))})
			mr, err := checkModel(m, "")
			if err != nil {
				return err
			}
			r.Model = mr
			r.Checks = append(r.Checks, Check{"model", fmt.Sprintf("%s, %s, %d files, %s", mr.ModelType, mr.Format, mr.Files, ui.HumanBytes(mr.Size))})
			r.Warnings = append(r.Warnings, mr.Warnings...)
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
}

// checkModel validates the model directory; transformers is the locked
// transformers version, "" when unknown.
func checkModel(m *manifest.Manifest, transformers string) (*modelcheck.Report, error) {
	opts := modelcheck.Options{TrustRemoteCode: m.Model.TrustRemoteCode, Transformers: transformers}
	if m.Model.Handler == "" {
		opts.Task = m.Model.Task // a custom handler loads the model its own way
	}
	return modelcheck.Check(m.ModelDir(), opts)
}

func describeAccelerator(m *manifest.Manifest) string {
	if !m.Accelerator.GPU() {
		return "cpu"
	}
	return fmt.Sprintf("%d x %s", m.Accelerator.Count, m.Accelerator.Type)
}
