// Package config is hfpack-sidecar's configuration: the JSON file the
// builder writes into every image at DefaultPath, kebab-case keys and
// durations as strings. It has no dependencies beyond the standard library,
// so the builder can import it without linking the sidecar.
package config
