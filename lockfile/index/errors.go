package index

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/hfpack/hfpack/lockfile/cache"
)

// ErrNotFound is wrapped by errors for a project or file the index does not
// have (HTTP 404 or 410).
var ErrNotFound = errors.New("not found")

// ErrUnsupportedAPI is wrapped by errors for an index page whose
// api-version has a major version this client does not speak.
var ErrUnsupportedAPI = errors.New("unsupported simple API version")

// HashError reports a download whose sha256 does not match the index's.
type HashError = cache.HashError

// StatusError is an unexpected HTTP status from an index.
type StatusError struct {
	// URL is the request URL with credentials redacted.
	URL string
	// StatusCode is the HTTP status code.
	StatusCode int
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("GET %s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		msg += " (check the index credentials)"
	}
	return msg
}

// Unwrap returns ErrNotFound for 404 and 410.
func (e *StatusError) Unwrap() error {
	if e.StatusCode == http.StatusNotFound || e.StatusCode == http.StatusGone {
		return ErrNotFound
	}
	return nil
}

// Temporary reports whether the status is worth retrying.
func (e *StatusError) Temporary() bool { return retryableStatus(e.StatusCode) }

func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
