// Package pep508 parses Python dependency specifiers as defined by PEP 508
// (packaging.python.org "Dependency specifiers"): requirements such as
// `transformers[torch]>=4.40,<5 ; python_version >= "3.9"`, and environment
// markers, which it parses into a tree and evaluates against an Environment
// describing the target image (never the host running hfpack).
//
// It also normalises project names as PEP 503 specifies.
package pep508
