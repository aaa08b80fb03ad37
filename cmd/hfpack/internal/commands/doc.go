// Package commands holds hfpack's subcommands, one file each. Every command
// reads a manifest (./hfpack.toml unless named), writes human lines to stderr
// and results to stdout, and returns errors instead of exiting.
package commands
