package publish

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/oauth2"
)

// ErrUnauthorized reports a push the registry refused for want of
// credentials (401) or of permission (403).
var ErrUnauthorized = errors.New("unauthorized")

// WithTokenSource authenticates pushes with OAuth2 access tokens from ts,
// sent as Basic `_token:<access token>` as Google's keychain does (Artifact
// Registry and Container Registry accept it; so does any registry whose
// token service takes a Google access token). Use it for tokens the
// default keychain cannot find, such as one a CI pipeline obtained through
// Workload Identity Federation. Tokens are reused until they expire. It
// replaces the default keychain and cannot be combined with WithKeychain.
func WithTokenSource(ts oauth2.TokenSource) Option {
	return func(o *options) error {
		if ts == nil {
			return errors.New("WithTokenSource: nil token source")
		}
		o.tokenSource = ts
		return nil
	}
}

// tokenKeychain answers every registry with one authenticator: Publish
// talks to one registry per call.
type tokenKeychain struct{ auth authn.Authenticator }

func (k tokenKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.auth, nil }

// authError wraps err in ErrUnauthorized, with a hint naming how to log in
// to registry, when the registry refused the credentials.
func authError(registry string, err error) error {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return err
	}
	denied := terr.StatusCode == http.StatusForbidden
	refused := terr.StatusCode == http.StatusUnauthorized || denied
	for _, d := range terr.Errors {
		switch d.Code {
		case transport.UnauthorizedErrorCode:
			refused = true
		case transport.DeniedErrorCode:
			refused, denied = true, true
		}
	}
	if !refused {
		return err
	}
	return fmt.Errorf("registry %s: %w: %w; %s", registry, ErrUnauthorized, err, loginHint(registry, denied))
}

// loginHint says how to get credentials for registry, or permission there.
func loginHint(registry string, denied bool) string {
	google := registry == "gcr.io" || strings.HasSuffix(registry, ".gcr.io") || strings.HasSuffix(registry, ".pkg.dev")
	switch {
	case denied && strings.HasSuffix(registry, ".pkg.dev"):
		return "the credentials lack permission: grant roles/artifactregistry.writer on the repository"
	case denied:
		return "the credentials lack permission to push to this repository"
	case google:
		return fmt.Sprintf("run `gcloud auth configure-docker %s`, or set GOOGLE_APPLICATION_CREDENTIALS (a service account key or a Workload Identity Federation config), or `docker login %s`", registry, registry)
	}
	return fmt.Sprintf("run `docker login %s`, or configure a docker credential helper for it", registry)
}
