package publish

import "regexp"

// urlQuery matches the query of a URL in a message: registries put upload
// session tokens (_state=...) and signed-URL credentials there.
var urlQuery = regexp.MustCompile(`(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s?"'<>]*)\?[^\s"'<>]*`)

// RedactURLQueries replaces the query of every URL in s with "?REDACTED".
func RedactURLQueries(s string) string {
	return urlQuery.ReplaceAllString(s, "$1?REDACTED")
}

// redactedError is an error whose message has its URL queries redacted; it
// still wraps the original for errors.Is and errors.As.
type redactedError struct{ err error }

func (e redactedError) Error() string { return RedactURLQueries(e.err.Error()) }
func (e redactedError) Unwrap() error { return e.err }

// redact hides the URL queries in err's message.
func redact(err error) error {
	if err == nil {
		return nil
	}
	return redactedError{err}
}
