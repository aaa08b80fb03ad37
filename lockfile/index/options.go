package index

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/hfpack/hfpack/lockfile/cache"
)

// Option configures a Client or a Multi.
type Option func(*options) error

type options struct {
	httpClient  *http.Client
	cache       *cache.Cache
	retries     int
	backoffBase time.Duration
	backoffMax  time.Duration
	logger      *slog.Logger
	userAgent   string
	now         func() time.Time
	ranges      bool
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{
		httpClient:  defaultHTTPClient,
		retries:     4,
		backoffBase: 250 * time.Millisecond,
		backoffMax:  10 * time.Second,
		logger:      slog.Default(),
		userAgent:   "hfpack",
		now:         time.Now,
		ranges:      true,
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.cache == nil {
		c, err := cache.Open("")
		if err != nil {
			return nil, err
		}
		o.cache = c
	}
	return o, nil
}

// defaultHTTPClient keeps enough idle connections per host for a resolver
// prefetching many pages from one index, and gives up on a server that
// accepts a connection but never answers.
var defaultHTTPClient = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	t.ResponseHeaderTimeout = time.Minute
	return &http.Client{Transport: t}
}()

// WithHTTPClient sets the HTTP client (default: the standard transport with
// 32 idle connections per host and a one-minute response-header timeout;
// no overall timeout, so large wheels can download).
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("index: nil http client")
		}
		o.httpClient = c
		return nil
	}
}

// WithCache sets the cache for pages, metadata and wheels (default: the
// cache at cache.DefaultDir()).
func WithCache(c *cache.Cache) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("index: nil cache")
		}
		o.cache = c
		return nil
	}
}

// WithRetries sets how many times a transient failure (connection error,
// 408, 429, 5xx) is retried (default 4).
func WithRetries(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return errors.New("index: negative retries")
		}
		o.retries = n
		return nil
	}
}

// WithBackoff sets the first retry delay and the cap (defaults 250ms and
// 10s). Each retry waits a random time up to base*2^attempt, capped; a
// Retry-After header is honoured up to the cap.
func WithBackoff(base, max time.Duration) Option {
	return func(o *options) error {
		if base < 0 || max < base {
			return errors.New("index: backoff needs 0 <= base <= max")
		}
		o.backoffBase, o.backoffMax = base, max
		return nil
	}
}

// WithLogger sets where warnings go (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("index: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithUserAgent sets the User-Agent header (default "hfpack").
func WithUserAgent(ua string) Option {
	return func(o *options) error { o.userAgent = ua; return nil }
}

// WithClock sets the clock used for cache freshness (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("index: nil clock")
		}
		o.now = now
		return nil
	}
}

// WithRangeRequests sets whether wheel metadata is read with HTTP range
// requests when the index offers no PEP 658 file (default true). Without
// them, or when the server ignores ranges, the whole wheel is downloaded.
func WithRangeRequests(on bool) Option {
	return func(o *options) error { o.ranges = on; return nil }
}
