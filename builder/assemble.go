package builder

import (
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Assemble appends layers (one per Plan layer, in order) to base and sets
// the Plan's config, with OCI media types and every timestamp fixed to the
// Plan's SOURCE_DATE_EPOCH in UTC.
func Assemble(base v1.Image, p *Plan, layers []v1.Layer) (v1.Image, error) {
	if len(layers) != len(p.Layers) {
		return nil, fmt.Errorf("assembling: %d layers for a plan of %d", len(layers), len(p.Layers))
	}
	created := v1.Time{Time: time.Unix(p.SourceDateEpoch, 0).UTC()}
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		mt, err := l.MediaType()
		if err != nil {
			return nil, err
		}
		adds[i] = mutate.Addendum{
			Layer:     l,
			MediaType: mt,
			History: v1.History{
				Created:   created,
				CreatedBy: "hfpack: " + p.Layers[i].Name,
				Comment:   "inputs sha256:" + p.Layers[i].Key,
			},
		}
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, fmt.Errorf("appending layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading base config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Created = created
	cf.Container, cf.DockerVersion = "", ""
	cf.Config = applyConfig(cf.Config, p.Config)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	return mutate.ConfigMediaType(img, types.OCIConfigJSON), nil
}

// applyConfig sets c's fields on the base's config: the Plan's environment
// wins over the base's, key by key, and the result is sorted; labels merge
// the same way.
func applyConfig(base v1.Config, c Config) v1.Config {
	out := base
	out.Hostname, out.Domainname = "", ""
	out.Entrypoint = append([]string(nil), c.Entrypoint...)
	out.Cmd = nil
	out.User = c.User
	out.WorkingDir = c.WorkingDir
	env := envMap(base.Env)
	for k, v := range envMap(c.Env) {
		env[k] = v
	}
	out.Env = envList(env)
	out.ExposedPorts = map[string]struct{}{}
	for k := range base.ExposedPorts {
		out.ExposedPorts[k] = struct{}{}
	}
	for _, port := range c.ExposedPorts {
		out.ExposedPorts[port] = struct{}{}
	}
	out.Labels = map[string]string{}
	for k, v := range base.Labels {
		out.Labels[k] = v
	}
	for k, v := range c.Labels {
		out.Labels[k] = v
	}
	return out
}
