package sidecar

import "github.com/hfpack/hfpack/imagespec"

// Config is the sidecar's configuration; see package imagespec for its fields
// and JSON keys.
type Config = imagespec.Config

// Duration is a time.Duration written in JSON as a string such as "5ms".
type Duration = imagespec.Duration

// DefaultConfigPath is where the builder writes the Config in an image.
const DefaultConfigPath = imagespec.DefaultPath

// LoadConfig reads a Config from a JSON file. Unknown keys are an error.
func LoadConfig(path string) (Config, error) { return imagespec.Load(path) }
