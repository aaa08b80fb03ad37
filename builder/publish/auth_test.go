package publish

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/oauth2"
)

const accessToken = "ya29.fake-access-token"

// bearerRegistry is a registry that, like Artifact Registry, answers
// 401 with a Bearer challenge, and whose token service takes an OAuth2
// access token as Basic _token:<token> (Google's keychain) or
// oauth2accesstoken:<token> (docker login with an access token).
type bearerRegistry struct {
	t       *testing.T
	reg     http.Handler
	srv     *httptest.Server
	realm   string
	bearer  string
	mu      sync.Mutex
	tokenOK []string // users the token service accepted
}

func newBearerRegistry(t *testing.T) *bearerRegistry {
	b := &bearerRegistry{t: t, reg: registry.New(registry.Logger(nopLogger())), bearer: "registry-session-42"}
	b.srv = httptest.NewServer(b)
	b.realm = b.srv.URL + "/token"
	t.Cleanup(b.srv.Close)
	return b
}

func (b *bearerRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		user, pass, ok := r.BasicAuth()
		if !ok || pass != accessToken || user != "_token" && user != "oauth2accesstoken" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication failed"}]}`)
			return
		}
		b.mu.Lock()
		b.tokenOK = append(b.tokenOK, user)
		b.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"token": b.bearer, "expires_in": 3600})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+b.bearer {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s",service="test"`, b.realm))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
		return
	}
	b.reg.ServeHTTP(w, r)
}

// users returns the users the token service accepted.
func (b *bearerRegistry) users() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.tokenOK...)
}

// pushAndCheck publishes an image to the registry and checks that it
// arrived, reading it back with the registry's bearer token.
func (b *bearerRegistry) pushAndCheck(opts ...Option) error {
	b.t.Helper()
	return b.pushAndCheckAs(host(b.t, b.srv), opts...)
}

// pushAndCheckAs pushes to the registry under the host name reg.
func (b *bearerRegistry) pushAndCheckAs(reg string, opts ...Option) error {
	b.t.Helper()
	img := testImage(b.t)
	ref := reg + "/p/r/tiny:v1"
	got, err := Publish(context.Background(), img, Target{Kind: Registry, Ref: ref}, append(opts, fast)...)
	if err != nil {
		return err
	}
	want, _ := img.Digest()
	if got != want {
		b.t.Errorf("Publish() = %s, want %s", got, want)
	}
	plain := httptest.NewServer(b.reg)
	defer plain.Close()
	if _, err := remote.Head(mustRef(b.t, host(b.t, plain)+"/p/r/tiny@"+want.String())); err != nil {
		b.t.Errorf("image not in the registry after the push: %v", err)
	}
	return nil
}

// fakeTokenSource hands out accessToken, counting calls.
type fakeTokenSource struct{ calls atomic.Int32 }

func (f *fakeTokenSource) Token() (*oauth2.Token, error) {
	f.calls.Add(1)
	return &oauth2.Token{AccessToken: accessToken, TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
}

func TestPushWithTokenSource(t *testing.T) {
	b := newBearerRegistry(t)
	ts := &fakeTokenSource{}
	if err := b.pushAndCheck(WithTokenSource(ts)); err != nil {
		t.Fatalf("Publish() with a token source = %v", err)
	}
	if users := b.users(); len(users) == 0 || users[0] != "_token" {
		t.Errorf("token service accepted %q, want _token", users)
	}
	if n := ts.calls.Load(); n != 1 {
		t.Errorf("token source called %d times, want 1 (the token is reused until it expires)", n)
	}
}

func TestWithTokenSourceAndKeychain(t *testing.T) {
	if _, err := Publish(context.Background(), testImage(t), Target{Kind: Registry, Ref: "127.0.0.1:1/x:y"}, WithTokenSource(&fakeTokenSource{}), anon()); err == nil || !strings.Contains(err.Error(), "choose one") {
		t.Errorf("Publish() with both a keychain and a token source = %v, want a refusal", err)
	}
}

// isolateDockerConfig points the default keychain at an empty home and a
// DOCKER_CONFIG directory holding config, returning that directory.
func isolateDockerConfig(t *testing.T, config string) string {
	t.Helper()
	home, dir := t.TempDir(), t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_RUNTIME_DIR", home)
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("DOCKER_CONFIG", dir)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// `docker login -u oauth2accesstoken` writes an auths entry; the default
// keychain (no option) finds it.
func TestPushWithDockerConfig(t *testing.T) {
	b := newBearerRegistry(t)
	auth := base64.StdEncoding.EncodeToString([]byte("oauth2accesstoken:" + accessToken))
	isolateDockerConfig(t, fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, host(t, b.srv), auth))
	if err := b.pushAndCheck(); err != nil {
		t.Fatalf("Publish() with docker config credentials = %v", err)
	}
	if users := b.users(); len(users) == 0 || users[0] != "oauth2accesstoken" {
		t.Errorf("token service accepted %q, want oauth2accesstoken", users)
	}
}

// `gcloud auth configure-docker` writes a credHelpers entry naming
// docker-credential-gcloud; the default keychain runs the helper.
func TestPushWithCredentialHelper(t *testing.T) {
	b := newBearerRegistry(t)
	dir := isolateDockerConfig(t, fmt.Sprintf(`{"credHelpers": {%q: "fake"}}`, host(t, b.srv)))
	helper := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\necho '{\"ServerURL\":\"'$server'\",\"Username\":\"_token\",\"Secret\":\"%s\"}'\n", accessToken)
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-fake"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	if err := b.pushAndCheck(); err != nil {
		t.Fatalf("Publish() with a credential helper = %v", err)
	}
	if users := b.users(); len(users) == 0 || users[0] != "_token" {
		t.Errorf("token service accepted %q, want _token", users)
	}
}

// Without working credentials the push fails naming the registry, the
// cause and how to log in.
func TestPushUnauthorized(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Option
	}{
		{"anonymous", anon()},
		{"wrong token", WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "expired"}))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBearerRegistry(t)
			err := b.pushAndCheck(tc.opt)
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Publish() = %v, want ErrUnauthorized", err)
			}
			t.Logf("Publish() = %v", err)
			reg := host(t, b.srv)
			for _, want := range []string{"registry " + reg + ": unauthorized", "docker login " + reg} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Publish() = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestLoginHint(t *testing.T) {
	for _, tc := range []struct {
		registry string
		denied   bool
		want     string
	}{
		{"europe-west4-docker.pkg.dev", false, "gcloud auth configure-docker europe-west4-docker.pkg.dev"},
		{"gcr.io", false, "gcloud auth configure-docker gcr.io"},
		{"europe-west4-docker.pkg.dev", true, "roles/artifactregistry.writer"},
		{"ghcr.io", false, "docker login ghcr.io"},
		{"ghcr.io", true, "lack permission"},
	} {
		if got := loginHint(tc.registry, tc.denied); !strings.Contains(got, tc.want) {
			t.Errorf("loginHint(%q, %t) = %q, want it to contain %q", tc.registry, tc.denied, got, tc.want)
		}
	}
}

// A 403 is a refusal too, with the permission hint.
func TestPushDenied(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"errors":[{"code":"DENIED","message":"Permission \"artifactregistry.repositories.uploadArtifacts\" denied"}]}`)
	}))
	defer s.Close()
	_, err := Publish(context.Background(), testImage(t), Target{Kind: Registry, Ref: host(t, s) + "/p/r/x:v1"}, anon(), fast)
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "lack permission") {
		t.Errorf("Publish() to a registry answering 403 = %v, want ErrUnauthorized with a permission hint", err)
	}
}
