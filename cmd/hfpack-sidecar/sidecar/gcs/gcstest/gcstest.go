// Package gcstest is a loopback stand-in for the parts of the Cloud Storage
// JSON API the sidecar's download uses: object listing (name, size,
// generation, crc32c, md5Hash, paged) and media download with Range, as
// storage.googleapis.com serves them. It can add latency to every request,
// cap each connection's sending rate, corrupt the next responses of an
// object and cut every media response short, for tests and benchmarks.
package gcstest

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hfpack/hfpack/hub/hubtest"
)

// Content is an object's bytes, read at any offset.
type Content = hubtest.Content

// Bytes is a Content held in memory.
func Bytes(b []byte) Content { return hubtest.Bytes(b) }

// Pattern is size pseudo-random bytes computed on demand (no memory).
func Pattern(size int64, seed uint64) Content { return hubtest.Pattern(size, seed) }

// Options configure a Server.
type Options struct {
	Latency        time.Duration // added to every request
	BytesPerSecond int64         // cap on each connection's sending rate (0: none)
	PageSize       int           // list page size (default 1000, as GCS)
	NoHashes       bool          // list objects without crc32c and md5Hash
}

// Server is a stand-in bucket server. Its URL is the JSON API endpoint.
type Server struct {
	*httptest.Server
	opts Options

	mu       sync.Mutex
	objects  map[string]*object // "bucket/name"
	corrupt  map[string]int
	cutAfter int64

	requests   atomic.Int64
	mediaBytes atomic.Int64
	ranged     atomic.Int64
}

type object struct {
	bucket, name string
	content      Content
	generation   int64
	crc32c, md5  string
}

// New starts a Server; it stops when Close is called.
func New(opts Options) *Server {
	s := &Server{opts: opts, objects: map[string]*object{}, corrupt: map[string]int{}}
	if s.opts.PageSize <= 0 {
		s.opts.PageSize = 1000
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if s.opts.Latency > 0 {
			time.Sleep(s.opts.Latency)
		}
		s.serve(w, r)
	}))
	if opts.BytesPerSecond > 0 {
		s.Listener = hubtest.LimitListener(s.Listener, opts.BytesPerSecond)
	}
	s.Start()
	return s
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Put stores an object, computing its checksums as GCS does at upload.
func (s *Server) Put(bucket, name string, c Content) {
	crc := crc32.New(castagnoli)
	md := md5.New()
	io.Copy(io.MultiWriter(crc, md), io.NewSectionReader(c, 0, c.Size()))
	o := &object{bucket: bucket, name: name, content: c,
		crc32c: base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc.Sum32())),
		md5:    base64.StdEncoding.EncodeToString(md.Sum(nil))}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.objects[bucket+"/"+name]; old != nil {
		o.generation = old.generation
	}
	o.generation += 1_700_000_000_000_000
	s.objects[bucket+"/"+name] = o
}

// Corrupt makes the next n media responses for the object flip their
// first byte.
func (s *Server) Corrupt(bucket, name string, n int) {
	s.mu.Lock()
	s.corrupt[bucket+"/"+name] = n
	s.mu.Unlock()
}

// CutAfter makes every media response end abruptly after n body bytes
// (0: never), as a connection reset does.
func (s *Server) CutAfter(n int64) {
	s.mu.Lock()
	s.cutAfter = n
	s.mu.Unlock()
}

// Requests is how many requests the server answered.
func (s *Server) Requests() int64 { return s.requests.Load() }

// MediaBytes is how many object bytes the server sent.
func (s *Server) MediaBytes() int64 { return s.mediaBytes.Load() }

// RangedRequests is how many media requests carried a Range header.
func (s *Server) RangedRequests() int64 { return s.ranged.Load() }

func fail(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/storage/v1/b/")
	if !ok || r.Method != http.MethodGet {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	bucket, rest, _ := strings.Cut(rest, "/")
	switch {
	case rest == "o":
		s.list(w, r, bucket)
	case strings.HasPrefix(rest, "o/"):
		name, err := url.PathUnescape(strings.TrimPrefix(rest, "o/"))
		if err != nil {
			fail(w, http.StatusBadRequest, "bad object name")
			return
		}
		s.mu.Lock()
		o := s.objects[bucket+"/"+name]
		s.mu.Unlock()
		if o == nil {
			fail(w, http.StatusNotFound, "No such object: "+bucket+"/"+name)
			return
		}
		if g := r.URL.Query().Get("generation"); g != "" && g != strconv.FormatInt(o.generation, 10) {
			fail(w, http.StatusNotFound, "No such object: "+bucket+"/"+name+"#"+g)
			return
		}
		if r.URL.Query().Get("alt") != "media" {
			json.NewEncoder(w).Encode(s.resource(o))
			return
		}
		s.media(w, r, o)
	default:
		fail(w, http.StatusNotFound, "Not Found")
	}
}

func (s *Server) resource(o *object) map[string]string {
	m := map[string]string{"kind": "storage#object", "bucket": o.bucket, "name": o.name,
		"size": strconv.FormatInt(o.content.Size(), 10), "generation": strconv.FormatInt(o.generation, 10)}
	if !s.opts.NoHashes {
		m["crc32c"], m["md5Hash"] = o.crc32c, o.md5
	}
	return m
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, bucket string) {
	q := r.URL.Query()
	prefix := q.Get("prefix")
	s.mu.Lock()
	var objs []*object
	for _, o := range s.objects {
		if o.bucket == bucket && strings.HasPrefix(o.name, prefix) {
			objs = append(objs, o)
		}
	}
	s.mu.Unlock()
	sort.Slice(objs, func(i, j int) bool { return objs[i].name < objs[j].name })
	start, _ := strconv.Atoi(q.Get("pageToken"))
	start = min(max(start, 0), len(objs))
	end := min(start+s.opts.PageSize, len(objs))
	page := map[string]any{"kind": "storage#objects"}
	items := []map[string]string{}
	for _, o := range objs[start:end] {
		items = append(items, s.resource(o))
	}
	if len(items) > 0 {
		page["items"] = items
	}
	if end < len(objs) {
		page["nextPageToken"] = strconv.Itoa(end)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(page)
}

func (s *Server) media(w http.ResponseWriter, r *http.Request, o *object) {
	s.mu.Lock()
	cw := &mediaWriter{ResponseWriter: w, n: &s.mediaBytes, cut: s.cutAfter}
	if s.corrupt[o.bucket+"/"+o.name] > 0 {
		s.corrupt[o.bucket+"/"+o.name]--
		cw.flip = true
	}
	s.mu.Unlock()
	if r.Header.Get("Range") != "" {
		s.ranged.Add(1)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Goog-Generation", strconv.FormatInt(o.generation, 10))
	if !s.opts.NoHashes {
		w.Header().Set("X-Goog-Hash", "crc32c="+o.crc32c+",md5="+o.md5)
	}
	http.ServeContent(cw, r, "", time.Time{}, io.NewSectionReader(o.content, 0, o.content.Size()))
}

// mediaWriter counts body bytes, flips the first when asked and ends the
// connection after cut bytes.
type mediaWriter struct {
	http.ResponseWriter
	n    *atomic.Int64
	flip bool
	cut  int64
	sent int64
}

func (c *mediaWriter) Write(p []byte) (int, error) {
	if c.flip && len(p) > 0 {
		c.flip = false
		q := append([]byte(nil), p...)
		q[0] ^= 0xff
		p = q
	}
	if c.cut > 0 && c.sent+int64(len(p)) > c.cut {
		n, _ := c.ResponseWriter.Write(p[:c.cut-c.sent])
		c.n.Add(int64(n))
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	n, err := c.ResponseWriter.Write(p)
	c.sent += int64(n)
	c.n.Add(int64(n))
	return n, err
}
