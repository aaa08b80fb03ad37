package hub

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinels for the Hub's refusals; errors.Is matches the errors Client
// returns. Each error's text names the fix.
var (
	// ErrGated: the repository is gated and the token (if any) has not
	// been granted access.
	ErrGated = errors.New("gated model")
	// ErrRepoNotFound: no such repository, or a private one the token
	// cannot see (the Hub does not tell the two apart).
	ErrRepoNotFound = errors.New("model repository not found")
	// ErrRevisionNotFound: no such branch, tag or commit.
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrEntryNotFound: no such file at the commit.
	ErrEntryNotFound = errors.New("file not found")
	// ErrUnauthorized: the token was refused.
	ErrUnauthorized = errors.New("token refused")
	// ErrForbidden: the token lacks a permission.
	ErrForbidden = errors.New("access forbidden")
	// ErrMismatch: the bytes served do not match the pinned size or sha256.
	ErrMismatch = errors.New("download does not match the lock")
)

// HTTPError is a response the client could not use.
type HTTPError struct {
	Method, URL string // the URL never carries credentials
	Status      int
	Code        string // X-Error-Code
	Message     string // X-Error-Message
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s %s: %s", e.Method, e.URL, http.StatusText(e.Status))
	if e.Status != 0 {
		s = fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Temporary reports whether retrying may help: 408, 429 and 5xx.
func (e *HTTPError) Temporary() bool {
	return e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// fault explains a Hub response, as huggingface_hub's hf_raise_for_status
// does, and names the fix. what is "model ORG/NAME" or "file F of ORG/NAME".
func (c *Client) fault(resp *http.Response, repo, revision, file string) error {
	he := &HTTPError{Method: resp.Request.Method, URL: stripQuery(resp.Request.URL.String()), Status: resp.StatusCode,
		Code: resp.Header.Get("X-Error-Code"), Message: clip(resp.Header.Get("X-Error-Message"))}
	tokenHint := fmt.Sprintf("set %s to a Hugging Face token with read access to it", c.tokenEnvName())
	if c.token != "" {
		tokenHint = fmt.Sprintf("check that the token in %s has read access to it", c.tokenEnvName())
	}
	switch {
	case he.Code == "RevisionNotFound":
		return fmt.Errorf("%w: %s has no revision %q: check model.revision in hfpack.toml, or if the lock's commit was removed from the Hub run hfpack lock --upgrade-model: %w",
			ErrRevisionNotFound, repo, revision, he)
	case he.Code == "EntryNotFound":
		return fmt.Errorf("%w: %s at %s has no file %s (removed upstream?): run hfpack lock --upgrade-model to pin the files the Hub has now: %w",
			ErrEntryNotFound, repo, revision, file, he)
	case he.Code == "GatedRepo":
		return fmt.Errorf("%w: %s is gated: accept its conditions at %s/%s and %s: %w", ErrGated, repo, c.endpoint, repo, tokenHint, he)
	case he.Message == "Invalid credentials in Authorization header":
		return fmt.Errorf("%w: the Hub refused the token in %s: create a new one at %s/settings/tokens: %w", ErrUnauthorized, c.tokenEnvName(), c.endpoint, he)
	case he.Code == "RepoNotFound" || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusNotFound && file == "":
		return fmt.Errorf("%w: %s does not exist or is private: check model.source in hfpack.toml, or if it is private %s: %w", ErrRepoNotFound, repo, tokenHint, he)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %s at %s has no file %s (removed upstream?): run hfpack lock --upgrade-model: %w", ErrEntryNotFound, repo, revision, file, he)
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: %s: %s: %w", ErrForbidden, repo, tokenHint, he)
	}
	return he
}

func (c *Client) tokenEnvName() string {
	if c.tokenEnv != "" {
		return c.tokenEnv
	}
	return DefaultTokenEnv
}

// stripQuery drops a URL's query: signed file-host URLs carry credentials there.
func stripQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

func clip(s string) string {
	const limit = 200
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > limit {
		return s[:limit] + "..."
	}
	return s
}
