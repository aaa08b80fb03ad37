package commands

import (
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hfpack/hfpack/builder/publish"
	"github.com/hfpack/hfpack/builder/sbom"
	"github.com/hfpack/hfpack/pipeline"
)

// SBOMResult describes the SBOM attached to the image.
type SBOMResult struct {
	Digest     string `json:"digest"`
	MediaType  string `json:"mediaType"`
	Components int    `json:"components"`
}

// sbomArtifact builds the CycloneDX SBOM of the locked packages as an OCI
// artifact referring to img. It is as deterministic as the image.
func sbomArtifact(p *pipeline.Project, img v1.Image, epoch int64) (v1.Image, *SBOMResult, error) {
	digest, err := img.Digest()
	if err != nil {
		return nil, nil, err
	}
	opts := []sbom.Option{sbom.WithToolVersion(ReadVersion().Version), sbom.WithImageDigest(digest.String())}
	if epoch > 0 {
		opts = append(opts, sbom.WithTimestamp(time.Unix(epoch, 0).UTC()))
	}
	doc, err := sbom.CycloneDX(p.Lock, p.Manifest.Name, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("writing the SBOM: %w", err)
	}
	art, err := publish.NewReferrer(img, sbom.MediaType, doc, "sbom.cdx.json")
	if err != nil {
		return nil, nil, fmt.Errorf("attaching the SBOM: %w", err)
	}
	d, err := art.Digest()
	if err != nil {
		return nil, nil, err
	}
	return art, &SBOMResult{Digest: d.String(), MediaType: sbom.MediaType, Components: len(p.Lock.Packages)}, nil
}
