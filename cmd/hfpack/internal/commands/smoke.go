package commands

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/hfpack/hfpack/cmd/hfpack/internal/smoke"
)

// SmokeResult is what `hfpack smoke --json` prints.
type SmokeResult struct {
	Image  string        `json:"image"`
	Checks []smoke.Check `json:"checks"`
}

func newSmoke(g *globals) *cobra.Command {
	var (
		instances string
		timeout   time.Duration
		logs      bool
	)
	cmd := &cobra.Command{
		Use:   "smoke IMAGE",
		Short: "Run the image locally and check it serves the Vertex AI contract",
		Long: `smoke runs IMAGE on this machine as Vertex AI would and checks the serving
contract, printing each check as it passes: the image is copied with skopeo,
unpacked with umoci and run with runc as its user, with AIP_HTTP_PORT,
AIP_HEALTH_ROUTE and AIP_PREDICT_ROUTE set; the health route must answer 503
while the model loads, then 200; a predict request must get one prediction per
instance; SIGTERM must stop it with exit status 0.

IMAGE is a registry reference (REPO@sha256:..., what --digest-file writes),
oci:DIR[:TAG] or docker-archive:FILE. Needs root and runc, skopeo and umoci.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			res := &SmokeResult{Image: args[0]}
			opts := smoke.Options{
				Instances: instances,
				Timeout:   timeout,
				OnCheck: func(c smoke.Check) {
					g.ui.Infof("ok  %-8s %s", c.Name, c.Result)
				},
			}
			if logs {
				opts.Logs = g.ui.Err
			}
			checks, err := smoke.Run(cmd.Context(), args[0], opts)
			res.Checks = checks
			if err != nil {
				return err
			}
			return g.ui.Result(res, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "%s serves the Vertex AI contract (%d checks passed)\n", res.Image, len(res.Checks))
				return err
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&instances, "instances", "", "JSON array sent as the predict request's instances (default "+smoke.DefaultInstances+")")
	fl.DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the model to load")
	fl.BoolVar(&logs, "logs", false, "copy the container's output to stderr")
	return cmd
}
