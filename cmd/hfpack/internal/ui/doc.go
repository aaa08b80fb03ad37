// Package ui is how hfpack's commands talk to people and to machines: human
// lines and warnings on stderr, results on stdout, JSON with --json, and
// progress as a bar on a terminal or as plain lines in CI logs.
package ui
