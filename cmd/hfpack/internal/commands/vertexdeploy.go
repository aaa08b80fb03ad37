package commands

import (
	"fmt"
	"strings"

	"github.com/hfpack/hfpack/manifest"
)

// DeployModelRequest is the body of Vertex AI's v1beta1
// endpoints.deployModel: v1beta1's MachineSpec carries minGpuDriverVersion,
// so Vertex schedules the model only on nodes whose driver runs it.
type DeployModelRequest struct {
	DeployedModel DeployedModel `json:"deployedModel"`
}

// DeployedModel is the v1beta1 DeployedModel, the fields hfpack sets.
type DeployedModel struct {
	Model              string             `json:"model"`
	DisplayName        string             `json:"displayName"`
	DedicatedResources DedicatedResources `json:"dedicatedResources"`
}

// DedicatedResources is the v1beta1 DedicatedResources.
type DedicatedResources struct {
	MachineSpec     MachineSpec `json:"machineSpec"`
	MinReplicaCount int         `json:"minReplicaCount"`
	MaxReplicaCount int         `json:"maxReplicaCount"`
}

// MachineSpec is the v1beta1 MachineSpec.
type MachineSpec struct {
	MachineType         string `json:"machineType"`
	AcceleratorType     string `json:"acceleratorType,omitempty"`
	AcceleratorCount    int    `json:"acceleratorCount,omitempty"`
	MinGPUDriverVersion string `json:"minGpuDriverVersion,omitempty"`
}

// NewDeployModelRequest returns the deployModel body for the manifest's
// accelerator in region, with [accelerator] min-driver as the machine's
// minGpuDriverVersion. MODEL_ID and PROJECT are left for the caller.
func NewDeployModelRequest(m *manifest.Manifest, region string) *DeployModelRequest {
	if region == "" {
		region = "REGION"
	}
	d := SuggestDeployment(m)
	return &DeployModelRequest{DeployedModel: DeployedModel{
		Model:       "projects/PROJECT/locations/" + region + "/models/MODEL_ID",
		DisplayName: m.Name,
		DedicatedResources: DedicatedResources{
			MachineSpec: MachineSpec{
				MachineType:         d.MachineType,
				AcceleratorType:     d.AcceleratorType,
				AcceleratorCount:    d.AcceleratorCount,
				MinGPUDriverVersion: m.Accelerator.MinDriver,
			},
			MinReplicaCount: 1,
			MaxReplicaCount: 1,
		},
	}}
}

// minDriverNote explains, after the gcloud commands, how to deploy so that
// Vertex honours [accelerator] min-driver: through v1beta1 deployModel with
// the body `hfpack vertex-spec --deployed-model` prints. "" without min-driver.
func minDriverNote(m *manifest.Manifest, image, region string) string {
	if m.Accelerator.MinDriver == "" {
		return ""
	}
	if region == "" {
		region = "REGION"
	}
	return strings.Join([]string{
		fmt.Sprintf("# [accelerator] min-driver = %q: the image needs NVIDIA driver %s or newer. Deploy through the", m.Accelerator.MinDriver, m.Accelerator.MinDriver),
		"# v1beta1 API instead of the deploy-model command above, so that machineSpec.minGpuDriverVersion",
		"# keeps the model off older nodes:",
		fmt.Sprintf("hfpack vertex-spec %s --image %s --region %s --deployed-model > deployed-model.json", m.File, image, region),
		"curl -X POST -H \"Authorization: Bearer $(gcloud auth print-access-token)\" -H 'Content-Type: application/json' \\",
		fmt.Sprintf("    https://%s-aiplatform.googleapis.com/v1beta1/projects/PROJECT/locations/%s/endpoints/ENDPOINT_ID:deployModel \\", region, region),
		"    -d @deployed-model.json",
	}, "\n")
}
