package publish

import "github.com/hfpack/hfpack/internal/redact"

// redactedError is an error whose message has the queries and user
// information of its URLs redacted (registries put upload tokens,
// _state=..., in queries); it still wraps the original for errors.Is and
// errors.As.
type redactedError struct{ err error }

func (e redactedError) Error() string { return redact.Text(e.err.Error()) }
func (e redactedError) Unwrap() error { return e.err }

// redact hides the secrets of the URLs in err's message.
func redactErr(err error) error {
	if err == nil {
		return nil
	}
	return redactedError{err}
}
