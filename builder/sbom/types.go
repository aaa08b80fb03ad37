package sbom

// The CycloneDX 1.5 JSON subset hfpack writes. Field order is output order.

type bom struct {
	Schema       string      `json:"$schema"`
	BOMFormat    string      `json:"bomFormat"`
	SpecVersion  string      `json:"specVersion"`
	SerialNumber string      `json:"serialNumber,omitempty"`
	Version      int         `json:"version"`
	Metadata     metadata    `json:"metadata"`
	Components   []component `json:"components"`
}

type metadata struct {
	Timestamp  string     `json:"timestamp,omitempty"`
	Tools      *tools     `json:"tools,omitempty"`
	Component  *component `json:"component,omitempty"`
	Properties []property `json:"properties,omitempty"`
}

type tools struct {
	Components []component `json:"components"`
}

type component struct {
	BOMRef             string              `json:"bom-ref,omitempty"`
	Type               string              `json:"type"`
	Name               string              `json:"name"`
	Version            string              `json:"version,omitempty"`
	PURL               string              `json:"purl,omitempty"`
	Hashes             []hash              `json:"hashes,omitempty"`
	ExternalReferences []externalReference `json:"externalReferences,omitempty"`
	Properties         []property          `json:"properties,omitempty"`
}

type hash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

type externalReference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

type property struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}
