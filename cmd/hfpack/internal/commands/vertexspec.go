package commands

import (
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/hfpack/hfpack/imagespec"
	"github.com/hfpack/hfpack/manifest"
)

// Routes the sidecar serves besides whatever AIP_* routes Vertex sets. The
// containerSpec names them so that Vertex's AIP_PREDICT_ROUTE and
// AIP_HEALTH_ROUTE equal the routes users also hit locally.
const (
	PredictRoute = imagespec.PredictRoute
	HealthRoute  = imagespec.HealthRoute
	ServingPort  = imagespec.DefaultPort
)

// ContainerSpec is Vertex AI's ModelContainerSpec (REST, camelCase), the
// fields hfpack sets.
type ContainerSpec struct {
	ImageURI     string    `json:"imageUri"`
	Env          []EnvVar  `json:"env,omitempty"`
	Ports        []Port    `json:"ports"`
	PredictRoute string    `json:"predictRoute"`
	HealthRoute  string    `json:"healthRoute"`
	SharedMemMB  int64     `json:"sharedMemorySizeMb,omitempty,string"`
	Deployment   string    `json:"deploymentTimeout,omitempty"`
	StartupProbe *ExecLike `json:"startupProbe,omitempty"`
}

// EnvVar is one containerSpec.env entry.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Port is one containerSpec.ports entry.
type Port struct {
	ContainerPort int `json:"containerPort"`
}

// ExecLike is reserved for probes; hfpack relies on the HTTP health route.
type ExecLike struct{}

// Deployment is the suggested machine for the manifest's accelerator.
type Deployment struct {
	MachineType      string `json:"machineType"`
	AcceleratorType  string `json:"acceleratorType,omitempty"`
	AcceleratorCount int    `json:"acceleratorCount,omitempty"`
}

// NewContainerSpec returns the containerSpec for image, which must be pinned
// by digest: Vertex copies the image at upload, so a tag would make the
// deployed model differ from what was tested.
func NewContainerSpec(image string) (*ContainerSpec, error) {
	d, err := name.NewDigest(image)
	if err != nil {
		return nil, usageError{fmt.Errorf("--image %q is not pinned by digest: pass REF@sha256:<digest>, e.g. from hfpack build --digest-file: %w", image, err)}
	}
	return &ContainerSpec{
		ImageURI:     d.String(),
		Ports:        []Port{{ServingPort}},
		PredictRoute: PredictRoute,
		HealthRoute:  HealthRoute,
	}, nil
}

// machineTypes maps an accelerator to the machine type Vertex pairs with 1,
// 2, 4 and 8 of it.
var machineTypes = map[string][4]string{
	"NVIDIA_TESLA_P4":       {"n1-standard-8", "n1-standard-16", "n1-standard-32", "n1-standard-64"},
	"NVIDIA_TESLA_P100":     {"n1-standard-8", "n1-standard-16", "n1-standard-32", "n1-standard-64"},
	"NVIDIA_TESLA_V100":     {"n1-standard-8", "n1-standard-16", "n1-standard-32", "n1-standard-64"},
	"NVIDIA_TESLA_T4":       {"n1-standard-8", "n1-standard-16", "n1-standard-32", "n1-standard-64"},
	"NVIDIA_L4":             {"g2-standard-8", "g2-standard-24", "g2-standard-48", "g2-standard-96"},
	"NVIDIA_TESLA_A100":     {"a2-highgpu-1g", "a2-highgpu-2g", "a2-highgpu-4g", "a2-highgpu-8g"},
	"NVIDIA_A100_80GB":      {"a2-ultragpu-1g", "a2-ultragpu-2g", "a2-ultragpu-4g", "a2-ultragpu-8g"},
	"NVIDIA_H100_80GB":      {"a3-highgpu-1g", "a3-highgpu-2g", "a3-highgpu-4g", "a3-highgpu-8g"},
	"NVIDIA_H100_MEGA_80GB": {"", "", "", "a3-megagpu-8g"},
	"NVIDIA_H200_141GB":     {"", "", "", "a3-ultragpu-8g"},
	"NVIDIA_B200":           {"", "", "", "a4-highgpu-8g"},
	"NVIDIA_GB200":          {"", "", "a4x-highgpu-4g", ""},
	"NVIDIA_RTX_PRO_6000":   {"g4-standard-48", "g4-standard-96", "g4-standard-192", "g4-standard-384"},
}

// SuggestDeployment returns the machine for the manifest's accelerator.
func SuggestDeployment(m *manifest.Manifest) Deployment {
	if !m.Accelerator.GPU() {
		return Deployment{MachineType: "n1-standard-4"}
	}
	d := Deployment{AcceleratorType: m.Accelerator.Type, AcceleratorCount: m.Accelerator.Count}
	slot := map[int]int{1: 0, 2: 1, 4: 2, 8: 3}[m.Accelerator.Count]
	types := machineTypes[m.Accelerator.Type]
	d.MachineType = types[slot]
	if d.MachineType == "" { // only offered in one size: take it
		for _, t := range types {
			if t != "" {
				d.MachineType = t
			}
		}
	}
	return d
}

// regionOf returns REGION for an Artifact Registry host REGION-docker.pkg.dev.
func regionOf(image string) string {
	host, _, _ := strings.Cut(image, "/")
	if r, ok := strings.CutSuffix(host, "-docker.pkg.dev"); ok {
		return r
	}
	return ""
}

// gcloudAccelerator turns NVIDIA_TESLA_T4 into gcloud's nvidia-tesla-t4.
func gcloudAccelerator(t string) string {
	return strings.ReplaceAll(strings.ToLower(t), "_", "-")
}

// GcloudCommands renders the upload (and deploy) commands for spec.
func GcloudCommands(m *manifest.Manifest, spec *ContainerSpec, region string) []string {
	if region == "" {
		region = "REGION"
	}
	up := []string{"gcloud ai models upload",
		"--region=" + region,
		"--display-name=" + m.Name,
		"--container-image-uri=" + spec.ImageURI,
		fmt.Sprintf("--container-ports=%d", ServingPort),
		"--container-predict-route=" + spec.PredictRoute,
		"--container-health-route=" + spec.HealthRoute,
	}
	d := SuggestDeployment(m)
	deploy := []string{"gcloud ai endpoints deploy-model ENDPOINT_ID",
		"--region=" + region,
		"--model=MODEL_ID",
		"--display-name=" + m.Name,
		"--machine-type=" + d.MachineType,
	}
	if d.AcceleratorType != "" {
		deploy = append(deploy, fmt.Sprintf("--accelerator=type=%s,count=%d", gcloudAccelerator(d.AcceleratorType), d.AcceleratorCount))
	}
	return []string{strings.Join(up, " \\\n    "), strings.Join(deploy, " \\\n    ")}
}

func newVertexSpec(g *globals) *cobra.Command {
	var image, region string
	var gcloud, deployed bool
	cmd := &cobra.Command{
		Use:   "vertex-spec [MANIFEST] --image REF@sha256:DIGEST",
		Short: "Print the Vertex AI containerSpec (or gcloud commands) for a built image",
		Long: `vertex-spec prints the containerSpec JSON for 'gcloud ai models upload' or the
Vertex API: the image by digest, the port and the routes the sidecar serves.
No AIP_* variable is set: Vertex provides those at run time. With --gcloud it
prints the upload and deploy commands, with the machine type suggested for
the manifest's accelerator. With --deployed-model it prints the v1beta1
deployModel request body, whose machineSpec.minGpuDriverVersion carries
[accelerator] min-driver so Vertex schedules the model only on nodes whose
driver runs it; --gcloud then notes how to send it.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if image == "" {
				return usageError{fmt.Errorf("--image is required: the image reference with its digest")}
			}
			spec, err := NewContainerSpec(image)
			if err != nil {
				return err
			}
			m, err := loadManifest(args)
			if err != nil {
				return err
			}
			if region == "" {
				region = regionOf(image)
			}
			if deployed {
				g.ui.JSON = true
				return g.ui.Result(NewDeployModelRequest(m, region), nil)
			}
			if !gcloud {
				g.ui.Infof("suggested machine: %+v", SuggestDeployment(m))
				if Generative(m) {
					g.ui.Infof("%s (see --gcloud)", StreamingNote)
				}
				g.ui.JSON = true
				return g.ui.Result(spec, nil)
			}
			cmds := withStreaming(m, GcloudCommands(m, spec, region), region)
			if note := minDriverNote(m, spec.ImageURI, region); note != "" {
				cmds = append(cmds, note)
			}
			return g.ui.Result(cmds, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "%s\n", strings.Join(cmds, "\n\n"))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&image, "image", "", "the built image, REF@sha256:DIGEST")
	cmd.Flags().BoolVar(&gcloud, "gcloud", false, "print gcloud upload and deploy commands instead of JSON")
	cmd.Flags().StringVar(&region, "region", "", "Vertex region for --gcloud (default: from a REGION-docker.pkg.dev image)")
	cmd.Flags().BoolVar(&deployed, "deployed-model", false, "print the v1beta1 deployModel request body instead (machineSpec.minGpuDriverVersion from [accelerator] min-driver)")
	return cmd
}
