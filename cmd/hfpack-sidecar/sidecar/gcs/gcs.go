package gcs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/oauth2/google"
)

// DefaultEndpoint is the Cloud Storage JSON API.
const DefaultEndpoint = "https://storage.googleapis.com"

// ReadOnlyScope is the OAuth scope the download asks for.
const ReadOnlyScope = "https://www.googleapis.com/auth/devstorage.read_only"

// Option configures Download.
type Option func(*options)

type options struct {
	endpoint string
	client   *http.Client
	jobs     int
	chunk    int64
	progress *Progress
}

// WithEndpoint sets the API endpoint (default DefaultEndpoint, or
// http://$STORAGE_EMULATOR_HOST when that is set, without credentials).
func WithEndpoint(u string) Option {
	return func(o *options) { o.endpoint = strings.TrimRight(u, "/") }
}

// WithHTTPClient sets the client used as is, without adding credentials
// (default: an Application Default Credentials client).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithConcurrency sets how many ranged requests run at once (default 8):
// one GCS stream is capped well below a VM's bandwidth, several are not.
func WithConcurrency(n int) Option { return func(o *options) { o.jobs = max(n, 1) } }

// WithChunkSize sets the size of one ranged request (default 32 MiB).
func WithChunkSize(n int64) Option { return func(o *options) { o.chunk = max(n, 1) } }

// WithProgress makes Download count its bytes and files in p.
func WithProgress(p *Progress) Option { return func(o *options) { o.progress = p } }

// object is the part of a GCS object resource the download needs.
type object struct {
	Name       string `json:"name"`
	Size       int64  `json:"size,string"`
	Generation string `json:"generation"`
	CRC32C     string `json:"crc32c"`
	MD5Hash    string `json:"md5Hash"`
}

// Download copies every object under the gs://bucket/prefix uri into dir,
// keeping their paths relative to the prefix, and returns how many files it
// wrote.
func Download(ctx context.Context, uri, dir string, opts ...Option) (int, error) {
	o := options{endpoint: DefaultEndpoint, jobs: DefaultConcurrency, chunk: DefaultChunkSize}
	if h := os.Getenv("STORAGE_EMULATOR_HOST"); h != "" {
		o.endpoint = "http://" + strings.TrimPrefix(h, "http://")
		o.client = http.DefaultClient
	}
	for _, opt := range opts {
		opt(&o)
	}
	bucket, prefix, err := ParseURI(uri)
	if err != nil {
		return 0, err
	}
	if o.client == nil {
		c, err := google.DefaultClient(ctx, ReadOnlyScope)
		if err != nil {
			return 0, fmt.Errorf("finding Application Default Credentials: %w", err)
		}
		o.client = c
	}
	objs, err := list(ctx, o, bucket, prefix)
	if err != nil {
		return 0, err
	}
	if len(objs) == 0 {
		return 0, fmt.Errorf("no objects under %s", uri)
	}
	var files []file
	for _, obj := range objs {
		rel, err := relPath(prefix, obj.Name)
		if err != nil {
			return 0, err
		}
		if obj.Size < 0 {
			return 0, fmt.Errorf("listing %s: object %q has size %d", uri, obj.Name, obj.Size)
		}
		files = append(files, file{object: obj, dest: filepath.Join(dir, rel)})
	}
	if err := download(ctx, o, bucket, dir, files); err != nil {
		return 0, err
	}
	return len(objs), nil
}

// ParseURI splits gs://bucket/prefix into bucket and prefix; a non-empty
// prefix always ends in "/", so gs://b/model does not match gs://b/model2.
func ParseURI(uri string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(uri, "gs://")
	if !ok {
		return "", "", fmt.Errorf("storage URI %q: want gs://BUCKET/PATH", uri)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("storage URI %q has no bucket", uri)
	}
	prefix = strings.TrimLeft(prefix, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return bucket, prefix, nil
}

// relPath returns an object's path below prefix, refusing names that would
// land outside the destination directory.
func relPath(prefix, name string) (string, error) {
	rel := strings.TrimPrefix(name, prefix)
	clean := path.Clean("/" + rel)[1:]
	if clean == "" || clean != rel || strings.Contains(rel, "\\") || !filepath.IsLocal(filepath.FromSlash(rel)) {
		return "", fmt.Errorf("object name %q is not a safe relative path", name)
	}
	if first, _, _ := strings.Cut(rel, "/"); first == StageDir {
		return "", fmt.Errorf("object name %q is not a safe relative path: %s holds the download's partial files", name, StageDir)
	}
	return filepath.FromSlash(rel), nil
}

func list(ctx context.Context, o options, bucket, prefix string) ([]object, error) {
	var objs []object
	token := ""
	for {
		q := url.Values{"prefix": {prefix}, "fields": {"items(name,size,generation,crc32c,md5Hash),nextPageToken"}}
		if token != "" {
			q.Set("pageToken", token)
		}
		u := o.endpoint + "/storage/v1/b/" + url.PathEscape(bucket) + "/o?" + q.Encode()
		var page struct {
			Items         []object `json:"items"`
			NextPageToken string   `json:"nextPageToken"`
		}
		if err := getJSON(ctx, o.client, u, &page); err != nil {
			return nil, fmt.Errorf("listing gs://%s/%s: %w", bucket, prefix, err)
		}
		for _, it := range page.Items {
			if !strings.HasSuffix(it.Name, "/") { // skip folder placeholders
				objs = append(objs, it)
			}
		}
		if page.NextPageToken == "" {
			return objs, nil
		}
		token = page.NextPageToken
	}
}

func getJSON(ctx context.Context, c *http.Client, u string, v any) error {
	resp, err := get(ctx, c, u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(v)
}

func get(ctx context.Context, c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return nil, &StatusError{Code: resp.StatusCode, Body: strings.TrimSpace(string(msg))}
	}
	return resp, nil
}

// StatusError is a non-200 answer from the API.
type StatusError struct {
	Code int
	Body string // first 4 KiB
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GCS answered %d %s: %s", e.Code, http.StatusText(e.Code), e.Body)
}
