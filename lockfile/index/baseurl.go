package index

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// BaseURL returns the form of indexURL that Client.URL gives and that a
// lock records as a package's index: credentials, query and fragment
// removed, a trailing slash added. It opens nothing.
func BaseURL(indexURL string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(indexURL))
	if err != nil {
		return "", fmt.Errorf("parsing index URL %s: %w", Redact(indexURL), errors.Unwrap(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("index URL %s: want an absolute http or https URL", Redact(indexURL))
	}
	base, _ := stripUserinfo(u)
	base.Fragment, base.RawQuery = "", ""
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
		base.RawPath = ""
	}
	return base.String(), nil
}
