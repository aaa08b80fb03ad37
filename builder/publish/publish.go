package publish

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/google"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/oauth2"

	"github.com/hfpack/hfpack/internal/fsio"
	"github.com/hfpack/hfpack/internal/leftover"
)

// DefaultArchiveTag is the tag a docker archive records when the target has none.
const DefaultArchiveTag = "hfpack.local/image:latest"

type options struct {
	progress    chan<- v1.Update
	jobs        int
	keychain    authn.Keychain
	keychainSet bool
	tokenSource oauth2.TokenSource
	transport   http.RoundTripper
	backoff     remote.Backoff
	referrers   []v1.Image
}

// Option configures Publish.
type Option func(*options) error

// makeOptions applies opts to the defaults. It returns the options even
// with an error, so that Publish can close the progress channel.
func makeOptions(opts []Option) (*options, error) {
	o := &options{
		jobs:      4,
		keychain:  authn.NewMultiKeychain(authn.DefaultKeychain, google.Keychain),
		transport: remote.DefaultTransport,
		backoff:   remote.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.1, Steps: 5},
	}
	var errs []error
	for _, opt := range opts {
		errs = append(errs, opt(o))
	}
	if err := errors.Join(errs...); err != nil {
		return o, err
	}
	if o.tokenSource != nil {
		if o.keychainSet {
			return o, errors.New("WithKeychain and WithTokenSource both given: choose one")
		}
		o.keychain = tokenKeychain{google.NewTokenSourceAuthenticator(oauth2.ReuseTokenSource(nil, o.tokenSource))}
	}
	return o, nil
}

// WithProgress sends push progress to ch, which should be buffered; it is
// closed when the push ends. Local outputs send nothing and leave ch open.
func WithProgress(ch chan<- v1.Update) Option {
	return func(o *options) error { o.progress = ch; return nil }
}

// WithJobs sets the number of parallel blob uploads; default 4.
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("jobs must be at least 1, got %d", n)
		}
		o.jobs = n
		return nil
	}
}

// WithKeychain replaces the default keychain (docker config and credential
// helpers, then Google's Application Default Credentials and gcloud).
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) error { o.keychain, o.keychainSet = k, true; return nil }
}

// WithTransport sets the HTTP transport; default remote.DefaultTransport.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) error { o.transport = t; return nil }
}

// WithRetryBackoff sets the backoff between retries of temporary failures;
// default 1 s doubling, 5 tries.
func WithRetryBackoff(b remote.Backoff) Option {
	return func(o *options) error { o.backoff = b; return nil }
}

// WithReferrers publishes artifacts that refer to the image (made by
// NewReferrer, such as its SBOM) with it: pushed to the same repository by
// digest after the image, or written into the same OCI layout (listed in
// index.json with their artifactType and no ref name). A docker archive
// cannot hold them: they are left out. Publish fails with ErrNotReferrer
// unless each refers to the image.
func WithReferrers(artifacts ...v1.Image) Option {
	return func(o *options) error { o.referrers = append(o.referrers, artifacts...); return nil }
}

// Publish writes img to t and returns its manifest digest.
func Publish(ctx context.Context, img v1.Image, t Target, opts ...Option) (v1.Hash, error) {
	o, err := makeOptions(opts)
	defer func() {
		// A push that fails before it starts still closes the channel.
		if t.Kind == Registry && o.progress != nil {
			close(o.progress)
		}
	}()
	if err != nil {
		return v1.Hash{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	refs := make([]v1.Descriptor, len(o.referrers))
	for i, art := range o.referrers {
		if refs[i], err = referrerDescriptor(art, digest); err != nil {
			return v1.Hash{}, err
		}
	}
	switch t.Kind {
	case OCI:
		err = writeLayout(ctx, img, t, o.referrers, refs)
	case DockerArchive:
		err = writeArchive(ctx, img, t)
	case Registry:
		err = push(ctx, img, t.Ref, o)
	default:
		err = fmt.Errorf("%w: unknown kind %q", ErrBadTarget, t.Kind)
	}
	if err != nil {
		return v1.Hash{}, fmt.Errorf("writing %s: %w", t, err)
	}
	return digest, nil
}

func push(ctx context.Context, img v1.Image, ref string, o *options) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	ro := o.remote(ctx)
	// The image goes by digest first, then its referrers, and the tag
	// moves last: a push that fails half-way leaves the tag where it was.
	// The progress channel is closed when the image's push ends, so the
	// (small) referrers and the tag go without it.
	pushImage := ro
	if o.progress != nil {
		pushImage = append(pushImage[:len(pushImage):len(pushImage)], remote.WithProgress(o.progress))
		o.progress = nil // remote.Write closes it
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	registry := r.Context().RegistryStr()
	if err := remote.Write(r.Context().Digest(digest.String()), img, pushImage...); err != nil {
		return redactErr(authError(registry, err))
	}
	for _, art := range o.referrers {
		d, err := art.Digest()
		if err != nil {
			return err
		}
		if err := remote.Write(r.Context().Digest(d.String()), art, ro...); err != nil {
			return redactErr(fmt.Errorf("pushing referrer %s: %w", d, authError(registry, err)))
		}
	}
	tag, ok := r.(name.Tag)
	if !ok {
		return nil // pushed by digest: no tag to move
	}
	if err := remote.Tag(tag, img, ro...); err != nil {
		return redactErr(fmt.Errorf("tagging %s: %w", tag, authError(registry, err)))
	}
	return nil
}

// remote returns the options of every request to a registry.
func (o *options) remote(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(o.keychain),
		remote.WithTransport(o.transport),
		remote.WithJobs(o.jobs),
		remote.WithRetryBackoff(o.backoff),
		remote.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusTooManyRequests,
			http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout),
	}
}

// writeArchive writes a docker-archive tarball to a temporary file beside
// the target and renames it into place. The temporary is held while
// written, so the next write of the same target removes one a killed build
// left (the image can be many GB).
func writeArchive(ctx context.Context, img v1.Image, t Target) error {
	tagStr := t.Ref
	if tagStr == "" {
		tagStr = DefaultArchiveTag
	}
	tag, err := name.NewTag(tagStr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(t.Path), 0o755); err != nil {
		return err
	}
	leftover.Clean(filepath.Dir(t.Path), fsio.TempPrefix(t.Path))
	f, err := fsio.Create(t.Path, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	release, err := leftover.Hold(f.Name())
	if err != nil {
		return err
	}
	defer release()
	if err := tarball.Write(tag, img, ctxWriter{ctx, f.File}); err != nil {
		return err
	}
	return f.Commit()
}

// ctxWriter stops a write when ctx is done.
type ctxWriter struct {
	ctx context.Context
	f   *os.File
}

func (w ctxWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return w.f.Write(p)
}
