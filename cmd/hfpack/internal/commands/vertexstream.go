package commands

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/hfpack/hfpack/manifest"
)

// defGenerate finds a top-level generate() in a handler module.
var defGenerate = regexp.MustCompile(`(?m)^def generate\(`)

// Generative reports whether the image streams generations: the default
// handler for text-generation or text2text-generation, or a handler that
// defines generate().
func Generative(m *manifest.Manifest) bool {
	if m.Model.Handler == "" {
		return m.Model.Task == "text-generation" || m.Model.Task == "text2text-generation"
	}
	src, err := os.ReadFile(m.HandlerPath())
	return err == nil && defGenerate.Match(src)
}

// StreamingNote says why streaming needs a dedicated endpoint.
const StreamingNote = "streaming (streamRawPredict, server-sent events) is served only by dedicated endpoints: " +
	"create the endpoint with dedicatedEndpointEnabled and an inferenceTimeout before deploying"

// StreamingCommands renders, for a generative model, the creation of a
// dedicated endpoint whose inferenceTimeout is [serving] stream-timeout,
// and a streamRawPredict call to try the deployed model.
func StreamingCommands(m *manifest.Manifest, region string) (create, try string) {
	if region == "" {
		region = "REGION"
	}
	timeout := max(int64(m.Serving.StreamTimeout.Seconds()), 1)
	api := "https://" + region + "-aiplatform.googleapis.com/v1/projects/PROJECT/locations/" + region + "/endpoints"
	create = strings.Join([]string{
		"# streaming needs a dedicated endpoint (the shared one serves no streamRawPredict)",
		`curl -X POST -H "Authorization: Bearer $(gcloud auth print-access-token)" -H "Content-Type: application/json" \`,
		"    " + api + ` \`,
		fmt.Sprintf(`    -d '{"displayName": %q, "dedicatedEndpointEnabled": true, "clientConnectionConfig": {"inferenceTimeout": "%ds"}}'`, m.Name, timeout),
	}, "\n")
	try = strings.Join([]string{
		"# try it: DEDICATED_DNS is the endpoint's dedicatedEndpointDns (gcloud ai endpoints describe ENDPOINT_ID)",
		`curl -N -X POST -H "Authorization: Bearer $(gcloud auth print-access-token)" -H "Content-Type: application/json" \`,
		"    https://DEDICATED_DNS/v1/projects/PROJECT/locations/" + region + `/endpoints/ENDPOINT_ID:streamRawPredict \`,
		`    -d '{"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 64, "stream": true}'`,
	}, "\n")
	return create, try
}

// withStreaming puts the dedicated endpoint's creation before the deploy
// command (cmds[1]) and the streamRawPredict call after it.
func withStreaming(m *manifest.Manifest, cmds []string, region string) []string {
	if !Generative(m) || len(cmds) < 2 {
		return cmds
	}
	create, try := StreamingCommands(m, region)
	out := append([]string{cmds[0], create, cmds[1], try}, cmds[2:]...)
	return out
}
