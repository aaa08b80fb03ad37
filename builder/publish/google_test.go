package publish

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// A CI pipeline with Workload Identity Federation (google-github-actions/auth
// sets GOOGLE_APPLICATION_CREDENTIALS to an external_account config) pushes
// to REGION-docker.pkg.dev with the default keychain and no other setup:
// Google's keychain exchanges the CI's OIDC token at the STS endpoint and
// sends the access token as _token.
//
// The registry host is europe-west4-docker.pkg.dev, served over TLS by an
// httptest server that the transport dials instead; the STS endpoint is a
// second local server named by the config's token_url. (google.Keychain
// resolves credentials once per process: with -count=2 the second run
// reuses the first run's access token.)
func TestPushToArtifactRegistryWithWorkloadIdentity(t *testing.T) {
	const oidc = "ci-oidc-token"
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("subject_token") != oidc {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"access_token": accessToken, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
			"token_type": "Bearer", "expires_in": 3600,
		})
	}))
	defer sts.Close()

	dir := isolateDockerConfig(t, `{}`)
	if err := os.WriteFile(filepath.Join(dir, "oidc"), []byte(oidc), 0o600); err != nil {
		t.Fatal(err)
	}
	creds, err := json.Marshal(map[string]any{
		"type":               "external_account",
		"audience":           "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/ci/providers/github",
		"subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
		"token_url":          sts.URL + "/v1/token",
		"credential_source":  map[string]any{"file": filepath.Join(dir, "oidc")},
	})
	if err != nil {
		t.Fatal(err)
	}
	credFile := filepath.Join(dir, "wif.json")
	if err := os.WriteFile(credFile, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", credFile)
	t.Setenv("PATH", dir) // no gcloud to fall back to

	const ar = "europe-west4-docker.pkg.dev"
	b := &bearerRegistry{t: t, reg: registry.New(registry.Logger(nopLogger())), bearer: "ar-session", realm: "https://" + ar + "/v2/token"}
	b.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/token" {
			r.URL.Path = "/token"
		}
		b.ServeHTTP(w, r)
	}))
	defer b.srv.Close()
	addr := b.srv.Listener.Addr().String()
	tr := b.srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: tr.TLSClientConfig.RootCAs, ServerName: "example.com"}
	tr.DialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
		if a != ar+":443" {
			return nil, fmt.Errorf("test dials %s only, not %s", ar, a)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	if err := b.pushAndCheckAs(ar, WithTransport(tr)); err != nil {
		t.Fatalf("Publish() to %s with Workload Identity credentials = %v", ar, err)
	}
	if users := b.users(); len(users) == 0 || users[0] != "_token" {
		t.Errorf("token service accepted %q, want _token", users)
	}
}
