package indextest

import (
	"bytes"
	"crypto/subtle"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// pageModTime is the Last-Modified time of every page and file.
var pageModTime = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)

// ServeHTTP implements http.Handler.
func (ix *Index) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	ix.mu.Lock()
	ix.requests[path]++
	if r.Header.Get("Range") != "" {
		ix.ranges[path]++
	}
	ix.total++
	flt := ix.faults[path]
	var active *Fault
	if flt != nil && (flt.Times == 0 || flt.used < flt.Times) {
		flt.used++
		f := flt.Fault
		active = &f
	}
	ix.mu.Unlock()

	if ix.cfg.user != "" {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u+":"+p), []byte(ix.cfg.user+":"+ix.cfg.pass)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="indextest"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	if active != nil && active.Hangup {
		hangup(w)
		return
	}
	if active != nil && active.Status != 0 {
		if active.RetryAfter != "" {
			w.Header().Set("Retry-After", active.RetryAfter)
		}
		http.Error(w, http.StatusText(active.Status), active.Status)
		return
	}
	body, ctype, status := ix.content(r)
	if status != http.StatusOK {
		http.Error(w, http.StatusText(status), status)
		return
	}
	if active != nil && active.Truncate {
		body = body[:len(body)/2]
	}
	if active != nil && active.CutBody {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body[:len(body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		hangup(w)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("ETag", `"`+sha256Hex(body)[:32]+`"`)
	w.Header().Add("Vary", "Accept")
	if ix.cfg.maxAge > 0 && strings.HasPrefix(path, "/simple/") {
		w.Header().Set("Cache-Control", "max-age="+strconv.Itoa(ix.cfg.maxAge))
	}
	if ix.cfg.noRanges {
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, "", pageModTime, bytes.NewReader(body))
}

// content returns the body, content type and status for r.
func (ix *Index) content(r *http.Request) ([]byte, string, int) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	base := "http://" + r.Host
	path := r.URL.Path
	switch {
	case path == "/simple/" || path == "/simple":
		kind := ix.negotiate(r.Header.Get("Accept"))
		switch kind {
		case JSONType:
			return ix.renderRootJSON(ix.projects()), JSONType, http.StatusOK
		case "":
			return nil, "", http.StatusNotAcceptable
		}
		return ix.renderRootHTML(ix.projects()), kind, http.StatusOK
	case strings.HasPrefix(path, "/simple/"):
		name := strings.Trim(strings.TrimPrefix(path, "/simple/"), "/")
		if name == "" || strings.Contains(name, "/") || Normalize(name) != name {
			return nil, "", http.StatusNotFound
		}
		if raw, ok := ix.raw[name]; ok {
			return raw.body, raw.contentType, http.StatusOK
		}
		files, ok := ix.projectFiles(name)
		if !ok {
			return nil, "", http.StatusNotFound
		}
		kind := ix.negotiate(r.Header.Get("Accept"))
		switch kind {
		case JSONType:
			return ix.renderJSON(base, name, files), JSONType, http.StatusOK
		case "":
			return nil, "", http.StatusNotAcceptable
		}
		return ix.renderHTML(base, name, files), kind, http.StatusOK
	case strings.HasPrefix(path, "/files/"):
		name := strings.TrimPrefix(path, "/files/")
		if f := ix.fileByName(name); f != nil {
			return f.data, "application/octet-stream", http.StatusOK
		}
		if base, ok := strings.CutSuffix(name, ".metadata"); ok && ix.cfg.metadata {
			if f := ix.fileByName(base); f != nil && f.metadata != nil {
				return f.metadata, "application/octet-stream", http.StatusOK
			}
		}
	}
	return nil, "", http.StatusNotFound
}

// negotiate picks the response media type for an Accept header: JSONType,
// HTMLType, "text/html", or "" when nothing acceptable is served.
func (ix *Index) negotiate(accept string) string {
	if ix.cfg.html && !ix.cfg.json {
		return "text/html"
	}
	if accept == "" {
		accept = "*/*"
	}
	best, bestQ := "", 0.0
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		mt := strings.TrimSpace(strings.ToLower(fields[0]))
		q := 1.0
		for _, p := range fields[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		var kind string
		switch {
		case mt == JSONType && ix.cfg.json:
			kind = JSONType
		case mt == HTMLType && ix.cfg.html:
			kind = HTMLType
		case mt == "text/html" && ix.cfg.html:
			kind = "text/html"
		case (mt == "*/*" || mt == "application/*") && ix.cfg.json:
			kind = JSONType
		case mt == "*/*" || mt == "text/*":
			kind = "text/html"
		}
		if kind != "" && q > bestQ {
			best, bestQ = kind, q
		}
	}
	return best
}

// Server is an Index listening on 127.0.0.1.
type Server struct {
	*Index
	// URL is the simple API base, "http://127.0.0.1:PORT/simple/".
	URL string
	// Root is the server root, "http://127.0.0.1:PORT".
	Root string

	srv *httptest.Server
}

// NewServer starts an Index on 127.0.0.1. Close it when done.
func NewServer(opts ...Option) *Server {
	ix := New(opts...)
	srv := httptest.NewServer(ix)
	return &Server{Index: ix, URL: srv.URL + "/simple/", Root: srv.URL, srv: srv}
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Client returns an http.Client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// FileURL returns the absolute URL of a file on the server.
func (s *Server) FileURL(filename string) string {
	return s.Root + "/files/" + strings.ReplaceAll(filename, "+", "%2B")
}

// String returns the server's simple API base URL.
func (s *Server) String() string { return s.URL }

// hangup closes the client connection abruptly.
func hangup(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}
