// Package index is hfpack's client for Python package indexes: the simple
// repository API in its PEP 691 JSON and PEP 503 HTML forms, PEP 658/714
// core metadata files, and wheel downloads into a content-addressed cache.
//
// A Client talks to one index; a Multi routes each project to exactly one
// index with the first-index strategy (explicit indexes serve only the
// packages they name). Pages are cached and revalidated with HTTP
// validators, transient failures are retried with capped exponential
// backoff, and credentials embedded in index URLs are sent only to that
// index's host and never appear in errors, logs, File URLs or the cache.
//
// Versions and requires-python are carried as strings: interpreting them is
// the resolver's job.
package index
