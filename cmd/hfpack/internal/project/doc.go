// Package project ties one hfpack project together for the commands: the
// manifest, its lock beside it, and the base image chosen for both. Each
// command asks it for the stage it needs; the stages themselves live in
// manifest, lockfile, baseimages and builder.
package project
