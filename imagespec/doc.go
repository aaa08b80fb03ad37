// Package imagespec is the contract between hfpack and the images it
// builds: the sidecar configuration file the builder writes into every image
// at DefaultPath (kebab-case keys, durations as strings) and the in-image
// layout the sidecar reads. It has no dependencies beyond the standard
// library, so the builder and both binaries import it without linking each
// other.
package imagespec
