package llb

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"strings"

	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/google"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session/auth/authprovider"
)

// WithDaemonPush has Backend.Build's daemon push the image into repo
// (REGISTRY/PATH, no tag) by its digest, instead of exporting it into the
// store for the caller to push: the layers go from the daemon to the
// registry once, where the export store would have them sent through the
// client's session first (at the session's 80-130 MB/s on loopback) and
// pushed again. Build then returns the image as the registry serves it, so
// that publishing it to a tag of repo uploads nothing but the tag (and any
// referrers): the tag still moves only after the whole image is there.
//
// The daemon asks the client for the registry's credentials, which come
// from the keychain hfpack's own push uses (the docker config and its
// credential helpers, then Google's Application Default Credentials).
// The registry is reached from the daemon's host. Plain HTTP is allowed
// for localhost and loopback addresses, as hfpack's own push allows it;
// any other plain-HTTP registry must be in the daemon's configuration.
func WithDaemonPush(repo string) SolveOption {
	return func(o *solveOptions) error {
		r, err := name.NewRepository(repo)
		if err != nil {
			return fmt.Errorf("push repository %q: %w", repo, err)
		}
		o.push = &r
		return nil
	}
}

// pushKeychain is what hfpack's push (builder/publish) authenticates with.
var pushKeychain = authn.NewMultiKeychain(authn.DefaultKeychain, google.Keychain)

// pushExport is the image exporter that pushes into repo by digest.
func pushExport(repo name.Repository) client.ExportEntry {
	attrs := map[string]string{
		string(exptypes.OptKeyName):         repo.Name(),
		string(exptypes.OptKeyPush):         "true",
		string(exptypes.OptKeyPushByDigest): "true",
	}
	if isLoopback(repo.RegistryStr()) {
		attrs[string(exptypes.OptKeyInsecure)] = "true"
	}
	return client.ExportEntry{Type: client.ExporterImage, Attrs: attrs}
}

// isLoopback reports whether host[:port] is localhost or a loopback
// address, where hfpack's own push (go-containerregistry) speaks plain
// HTTP. BuildKit's insecure flag means plain HTTP only, so it is not set
// for the private addresses go-containerregistry tries HTTPS on first:
// those need the daemon's own registry configuration.
func isLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// keychainAuth answers the daemon's requests for registry credentials from
// kc.
func keychainAuth(kc authn.Keychain) authprovider.AuthConfigProvider {
	return func(ctx context.Context, host string, _ []string, _ authprovider.ExpireCachedAuthCheck) (types.AuthConfig, error) {
		if host == authprovider.DockerHubRegistryHost {
			host = name.DefaultRegistry
		}
		reg, err := name.NewRegistry(host)
		if err != nil {
			return types.AuthConfig{}, fmt.Errorf("registry %q: %w", host, err)
		}
		a, err := kc.Resolve(reg)
		if err != nil {
			return types.AuthConfig{}, fmt.Errorf("credentials for %s: %w", host, err)
		}
		cfg, err := authn.Authorization(ctx, a)
		if err != nil {
			return types.AuthConfig{}, fmt.Errorf("credentials for %s: %w", host, err)
		}
		user, pass := cfg.Username, cfg.Password
		if user == "" && cfg.Auth != "" {
			if b, err := base64.StdEncoding.DecodeString(cfg.Auth); err == nil {
				user, pass, _ = strings.Cut(string(b), ":")
			}
		}
		return types.AuthConfig{Username: user, Password: pass, IdentityToken: cfg.IdentityToken,
			RegistryToken: cfg.RegistryToken, ServerAddress: host}, nil
	}
}

// pushedImage is the image d the daemon pushed into repo, read from there.
func pushedImage(ctx context.Context, repo name.Repository, d v1.Hash, ro ...remote.Option) (v1.Image, error) {
	ro = append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(pushKeychain)}, ro...)
	img, err := remote.Image(repo.Digest(d.String()), ro...)
	if err != nil {
		return nil, fmt.Errorf("reading the image buildkitd pushed to %s: %w", repo, err)
	}
	return img, nil
}
