package publish

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// recorder logs every manifest PUT a registry receives (but the referrers
// fallback tag's) and can fail some.
type recorder struct {
	mu   sync.Mutex
	puts []string
	fail func(r *http.Request) bool
	next http.Handler
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rec.fail != nil && rec.fail(r) {
		// Drop the connection mid-request, as a proxy that times out does:
		// the client's error carries the request URL.
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		http.Error(w, "boom", http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && !strings.Contains(r.URL.Path, "/manifests/sha256-") {
		rec.mu.Lock()
		rec.puts = append(rec.puts, r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:])
		rec.mu.Unlock()
	}
	rec.next.ServeHTTP(w, r)
}

// The image goes by digest, then its referrers, and the tag moves last.
func TestPushMovesTheTagLast(t *testing.T) {
	rec := &recorder{next: registry.New(registry.Logger(nopLogger()))}
	s := httptest.NewServer(rec)
	defer s.Close()
	img := testImage(t)
	art := testReferrer(t, img)
	ref := host(t, s) + "/hf/tiny:v1"
	if _, err := Publish(context.Background(), img, Target{Kind: Registry, Ref: ref}, anon(), fast, WithReferrers(art)); err != nil {
		t.Fatal(err)
	}
	want := []string{digestOf(t, img).String(), digestOf(t, art).String(), "v1"}
	if strings.Join(rec.puts, ",") != strings.Join(want, ",") {
		t.Errorf("manifest PUTs = %q, want %q (image by digest, referrer, then the tag)", rec.puts, want)
	}
}

// A referrer that cannot be pushed leaves the tag where it was.
func TestFailedReferrerPushLeavesTheTag(t *testing.T) {
	reg := registry.New(registry.Logger(nopLogger()))
	rec := &recorder{next: reg}
	s := httptest.NewServer(rec)
	defer s.Close()
	ref := host(t, s) + "/hf/tiny:v1"
	old := testImage(t)
	if _, err := Publish(context.Background(), old, Target{Kind: Registry, Ref: ref}, anon(), fast); err != nil {
		t.Fatal(err)
	}
	img := testImage(t)
	art := testReferrer(t, img)
	artDigest := digestOf(t, art).String()
	rec.fail = func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/"+artDigest)
	}
	if _, err := Publish(context.Background(), img, Target{Kind: Registry, Ref: ref}, anon(), fast, WithReferrers(art)); err == nil {
		t.Fatal("Publish() with a failing referrer push = nil error")
	}
	got, err := remote.Head(mustRef(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != digestOf(t, old) {
		t.Errorf("after a failed referrer push, %s = %s, want the old %s", ref, got.Digest, digestOf(t, old))
	}
}

// A failed upload names the request without its query: registries put the
// upload session's token (_state=...) there.
func TestPushErrorsRedactURLQueries(t *testing.T) {
	rec := &recorder{next: registry.New(registry.Logger(nopLogger()))}
	rec.fail = func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/")
	}
	s := httptest.NewServer(rec)
	defer s.Close()
	ref := host(t, s) + "/hf/tiny:v1"
	_, err := Publish(context.Background(), testImage(t), Target{Kind: Registry, Ref: ref}, anon(), fast)
	if err == nil {
		t.Fatal("Publish() to a failing registry = nil error")
	}
	msg := err.Error()
	if strings.Contains(msg, "digest=") || strings.Contains(msg, "_state") || !strings.Contains(msg, "?REDACTED") {
		t.Errorf("error shows a URL query (or none was redacted): %s", msg)
	}
	var uerr interface{ Timeout() bool }
	if !errors.As(err, &uerr) {
		t.Errorf("redacted error %T no longer wraps the cause", err)
	}
}
