package sidecar

import "github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/config"

// Config is the sidecar's configuration; see package config for its fields
// and JSON keys.
type Config = config.Config

// Duration is a time.Duration written in JSON as a string such as "5ms".
type Duration = config.Duration

// DefaultConfigPath is where the builder writes the Config in an image.
const DefaultConfigPath = config.DefaultPath

// LoadConfig reads a Config from a JSON file. Unknown keys are an error.
func LoadConfig(path string) (Config, error) { return config.Load(path) }
