// Package imports finds the modules a Python handler imports and maps each
// one to the standard library, to a locked wheel or to the handler's own
// files, so that an import the image cannot satisfy fails the build instead
// of the first request on Vertex.
//
// The scanner is a small Python tokenizer written in Go rather than the host
// python3's ast module: hfpack must give the same answer on any build machine,
// including ones whose Python is missing or older than the target's, and
// import statements are simple enough to read from tokens. It understands
// strings of every kind, comments, line continuations, bracketed lines,
// "import a.b as c", "from .x import (y, z)", importlib.import_module("lit")
// and __import__("lit"), and marks imports guarded by
// "try: ... except ImportError" as optional.
package imports
