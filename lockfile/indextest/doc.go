// Package indextest provides test support for code that talks to Python
// package indexes, in the spirit of net/http/httptest: BuildWheel makes real,
// deterministic wheel archives, Index serves projects over the simple
// repository API (PEP 503 HTML and PEP 691 JSON, with optional PEP 658
// metadata files) with fault injection and request counting, and
// WriteIndexDir writes the same content as a static PEP 503 tree.
//
// Nothing here reaches the network: servers listen on 127.0.0.1 only.
package indextest
