// Package hubtest is a loopback stand-in for the Hugging Face Hub: the
// subset of its HTTP API that huggingface_hub (and package hub) use, over
// models a test generates.
//
//	GET  /api/models/{repo}[/revision/{rev}][?blobs=true]   model info: sha, siblings (rfilename, size, lfs)
//	HEAD /{repo}/resolve/{rev}/{path}                        X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size
//	GET  /{repo}/resolve/{rev}/{path}                        git files served here (Range works);
//	                                                         LFS files redirect (302) to a separate file host
//	GET  {FilesURL}/lfs/{sha256}?expires=...&signature=...   the file host: Range, no token needed
//
// Gated and private repositories answer as the Hub does: 401 with
// X-Error-Code GatedRepo or RepoNotFound without a token, 404/401
// RevisionNotFound and EntryNotFound for what is missing. The server can add
// latency to every request, cap each connection's bandwidth, corrupt the
// next downloads of a file, and records what it saw (requests, bytes, any
// Authorization header that reached the file host).
package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Content is a file's bytes, read at any offset.
type Content interface {
	io.ReaderAt
	Size() int64
}

// Bytes is a Content held in memory.
func Bytes(b []byte) Content { return bytes.NewReader(b) }

// Options configure a Server.
type Options struct {
	// Token is the only token accepted for gated and private models.
	Token string
	// Latency is added to every request on both hosts.
	Latency time.Duration
	// BytesPerSecond caps each connection's sending rate (0: no cap).
	BytesPerSecond int64
	// LFSThreshold: files at least this large, and every *.safetensors,
	// *.bin, *.h5, *.msgpack, *.onnx, *.pt, *.pth file, are stored in LFS
	// and served by the file host (default 10 MiB, as the Hub).
	LFSThreshold int64
}

// Server is a running stand-in Hub with a separate file host.
type Server struct {
	// URL is the Hub endpoint (HF_ENDPOINT).
	URL string
	// FilesURL is the file host LFS downloads redirect to.
	FilesURL string

	opts       Options
	hub, files *httptest.Server

	mu      sync.Mutex
	repos   map[string]*repo
	renamed map[string]string // old repo id -> new
	corrupt map[string]int    // sha256 -> downloads still to corrupt

	// Counters.
	requests   atomic.Int64
	fileBytes  atomic.Int64
	hubBytes   atomic.Int64
	leakedAuth atomic.Int64
	seenAuth   sync.Map // the Authorization values the hub host saw
}

type repo struct {
	gated, private bool
	refs           map[string]string // branch or tag -> commit
	commits        map[string]map[string]*file
}

type file struct {
	content Content
	sha256  string
	gitSHA  string
	lfs     bool
}

// New starts a stand-in Hub; Close it when done.
func New(opts Options) *Server {
	if opts.LFSThreshold <= 0 {
		opts.LFSThreshold = 10 << 20
	}
	s := &Server{opts: opts, repos: map[string]*repo{}, corrupt: map[string]int{}, renamed: map[string]string{}}
	s.hub = s.start(http.HandlerFunc(s.serveHub))
	s.files = s.start(http.HandlerFunc(s.serveFiles))
	s.URL, s.FilesURL = s.hub.URL, s.files.URL
	return s
}

func (s *Server) start(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if s.opts.Latency > 0 {
			time.Sleep(s.opts.Latency)
		}
		h.ServeHTTP(w, r)
	}))
	if s.opts.BytesPerSecond > 0 {
		srv.Listener = LimitListener(srv.Listener, s.opts.BytesPerSecond)
	}
	srv.Start()
	return srv
}

// Close stops both hosts.
func (s *Server) Close() {
	s.hub.Close()
	s.files.Close()
}

// Requests is the number of requests served on both hosts.
func (s *Server) Requests() int64 { return s.requests.Load() }

// FileBytes is the number of file bytes sent by the file host and by
// resolve (GET bodies only).
func (s *Server) FileBytes() int64 { return s.fileBytes.Load() + s.hubBytes.Load() }

// LeakedAuth is the number of requests to the file host that carried an
// Authorization header: it must stay 0.
func (s *Server) LeakedAuth() int64 { return s.leakedAuth.Load() }

// SawToken reports whether the hub host received token as a bearer token.
func (s *Server) SawToken(token string) bool {
	_, ok := s.seenAuth.Load("Bearer " + token)
	return ok
}

// Rename moves a repository: requests for the old id are redirected (307,
// a relative Location on the same host), as the Hub does.
func (s *Server) Rename(oldID, newID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[newID] = s.repos[oldID]
	delete(s.repos, oldID)
	s.renamed[oldID] = newID
}

// redirectRenamed answers a request for a renamed repository.
func (s *Server) redirectRenamed(w http.ResponseWriter, r *http.Request, id, prefix, rest string) bool {
	s.mu.Lock()
	to, ok := s.renamed[id]
	s.mu.Unlock()
	if !ok {
		return false
	}
	loc := prefix + to
	if rest != "" {
		loc += "/" + rest
	}
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusTemporaryRedirect)
	return true
}

// SetGated marks repoID as gated: files need the server's token.
func (s *Server) SetGated(repoID string, gated bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repo(repoID).gated = gated
}

// SetPrivate marks repoID as private: everything needs the server's token.
func (s *Server) SetPrivate(repoID string, private bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repo(repoID).private = private
}

// Corrupt makes the next n GET responses for the file with this sha256
// (whole or ranged) send their first byte inverted.
func (s *Server) Corrupt(sha string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corrupt[sha] = n
}

func (s *Server) repo(id string) *repo {
	r := s.repos[id]
	if r == nil {
		r = &repo{refs: map[string]string{}, commits: map[string]map[string]*file{}}
		s.repos[id] = r
	}
	return r
}

// Commit makes a commit on branch of repoID from the branch's current files
// with files added or replaced and remove deleted, and returns its id.
func (s *Server) Commit(repoID, branch string, files map[string]Content, remove ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repo(repoID)
	tree := map[string]*file{}
	parent := r.refs[branch]
	for p, f := range r.commits[parent] {
		tree[p] = f
	}
	for _, p := range remove {
		delete(tree, p)
	}
	for p, c := range files {
		tree[p] = s.newFile(p, c)
	}
	h := sha1.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", repoID, parent, branch)
	paths := make([]string, 0, len(tree))
	for p := range tree {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		fmt.Fprintf(h, "%s %s\n", p, tree[p].sha256)
	}
	id := hex.EncodeToString(h.Sum(nil))
	r.commits[id] = tree
	r.refs[branch] = id
	return id
}

// Tag points tag at commit.
func (s *Server) Tag(repoID, tag, commit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repo(repoID).refs[tag] = commit
}

// DeleteCommit removes a commit, as rewriting history on the Hub does.
func (s *Server) DeleteCommit(repoID, commit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.repo(repoID).commits, commit)
}

// RemoveFile drops path from an existing commit (what a history rewrite
// that removes a file looks like to a client pinned to that commit).
func (s *Server) RemoveFile(repoID, commit, p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.repo(repoID).commits[commit], p)
}

func (s *Server) newFile(p string, c Content) *file {
	h := sha256.New()
	g := sha1.New()
	fmt.Fprintf(g, "blob %d\x00", c.Size())
	io.Copy(io.MultiWriter(h, g), io.NewSectionReader(c, 0, c.Size()))
	f := &file{content: c, sha256: hex.EncodeToString(h.Sum(nil)), gitSHA: hex.EncodeToString(g.Sum(nil))}
	switch path.Ext(p) {
	case ".safetensors", ".bin", ".h5", ".msgpack", ".onnx", ".pt", ".pth", ".gguf":
		f.lfs = true
	}
	if c.Size() >= s.opts.LFSThreshold {
		f.lfs = true
	}
	return f
}

// SHA256 returns the sha256 of path at the head of branch.
func (s *Server) SHA256(repoID, branch, p string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repo(repoID)
	if f := r.commits[r.refs[branch]][p]; f != nil {
		return f.sha256
	}
	return ""
}

// Head returns the commit branch points at.
func (s *Server) Head(repoID, branch string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repo(repoID).refs[branch]
}

// lookup finds a repository and the commit a revision names, or writes the
// Hub's error.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, repoID, rev string, files bool) (*repo, string, map[string]*file, bool) {
	auth := r.Header.Get("Authorization")
	if auth != "" {
		s.seenAuth.Store(auth, true)
	}
	valid := s.opts.Token != "" && auth == "Bearer "+s.opts.Token
	if auth != "" && !valid {
		fail(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return nil, "", nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[repoID]
	if rp == nil || rp.private && !valid {
		status := http.StatusUnauthorized
		if valid {
			status = http.StatusNotFound
		}
		fail(w, status, "RepoNotFound", "Repository not found")
		return nil, "", nil, false
	}
	if rp.gated && files && !valid {
		fail(w, http.StatusUnauthorized, "GatedRepo", "Access to model "+repoID+" is restricted. You must have access to it and be authenticated to access it. Please log in.")
		return nil, "", nil, false
	}
	commit := rev
	if c, ok := rp.refs[rev]; ok {
		commit = c
	}
	tree, ok := rp.commits[commit]
	if !ok {
		fail(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return nil, "", nil, false
	}
	return rp, commit, tree, true
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\"error\":%q}\n", msg)
}

// splitRepo splits "org/name/rest..." into the repo id and the rest.
func splitRepo(p string) (string, string, bool) {
	parts := strings.SplitN(p, "/", 3)
	if len(parts) < 2 {
		return "", "", false
	}
	id := parts[0] + "/" + parts[1]
	if len(parts) == 2 {
		return id, "", true
	}
	return id, parts[2], true
}

func (s *Server) serveHub(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	if rest, ok := strings.CutPrefix(p, "api/models/"); ok {
		s.serveInfo(w, r, rest)
		return
	}
	id, rest, ok := splitRepo(p)
	after, isResolve := strings.CutPrefix(rest, "resolve/")
	if !ok || !isResolve {
		http.NotFound(w, r)
		return
	}
	if s.redirectRenamed(w, r, id, "/", rest) {
		return
	}
	escRev, escFile, ok := strings.Cut(after, "/")
	rev, err1 := url.PathUnescape(escRev)
	name, err2 := url.PathUnescape(escFile)
	if !ok || err1 != nil || err2 != nil {
		http.NotFound(w, r)
		return
	}
	s.serveResolve(w, r, id, rev, name)
}

func (s *Server) serveInfo(w http.ResponseWriter, r *http.Request, rest string) {
	id, tail, ok := splitRepo(rest)
	if ok && s.redirectRenamed(w, r, id, "/api/models/", tail) {
		return
	}
	rev := "main"
	if ok && tail != "" {
		esc, found := strings.CutPrefix(tail, "revision/")
		var err error
		if rev, err = url.PathUnescape(esc); !found || err != nil {
			http.NotFound(w, r)
			return
		}
	}
	rp, commit, tree, ok := s.lookup(w, r, id, rev, false)
	if !ok {
		return
	}
	blobs := r.URL.Query().Get("blobs") == "true"
	var b strings.Builder
	fmt.Fprintf(&b, "{\"id\":%q,\"modelId\":%q,\"sha\":%q,\"private\":%t,\"gated\":%s,\"siblings\":[", id, id, commit, rp.private, gatedJSON(rp.gated))
	paths := make([]string, 0, len(tree))
	for p := range tree {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for i, p := range paths {
		if i > 0 {
			b.WriteString(",")
		}
		f := tree[p]
		if !blobs {
			fmt.Fprintf(&b, "{\"rfilename\":%q}", p)
			continue
		}
		fmt.Fprintf(&b, "{\"rfilename\":%q,\"blobId\":%q,\"size\":%d", p, f.gitSHA, f.content.Size())
		if f.lfs {
			fmt.Fprintf(&b, ",\"lfs\":{\"sha256\":%q,\"size\":%d,\"pointerSize\":134}", f.sha256, f.content.Size())
		}
		b.WriteString("}")
	}
	b.WriteString("]}\n")
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, b.String())
}

func gatedJSON(g bool) string {
	if g {
		return `"manual"`
	}
	return "false"
}

func (s *Server) serveResolve(w http.ResponseWriter, r *http.Request, id, rev, name string) {
	_, commit, tree, ok := s.lookup(w, r, id, rev, true)
	if !ok {
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	f := tree[name]
	if f == nil {
		fail(w, http.StatusNotFound, "EntryNotFound", name+" does not exist on \""+rev+"\"")
		return
	}
	if f.lfs {
		w.Header().Set("X-Linked-Etag", `"`+f.sha256+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(f.content.Size()))
		w.Header().Set("ETag", `"`+f.gitSHA+`"`)
		w.Header().Set("Location", fmt.Sprintf("%s/lfs/%s?expires=4102444800&signature=%s", s.FilesURL, f.sha256, f.sha256[:16]))
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+f.gitSHA+`"`)
	s.serveContent(w, r, f, &s.hubBytes)
}

func (s *Server) serveFiles(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		s.leakedAuth.Add(1)
	}
	sha, ok := strings.CutPrefix(r.URL.Path, "/lfs/")
	if !ok || r.URL.Query().Get("signature") == "" || len(sha) < 16 || r.URL.Query().Get("signature") != sha[:16] {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	s.mu.Lock()
	var found *file
	for _, rp := range s.repos {
		for _, tree := range rp.commits {
			for _, f := range tree {
				if f.sha256 == sha {
					found = f
				}
			}
		}
	}
	s.mu.Unlock()
	if found == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("ETag", `"`+sha+`"`)
	s.serveContent(w, r, found, &s.fileBytes)
}

// serveContent serves f with Range support, corrupting it when asked.
func (s *Server) serveContent(w http.ResponseWriter, r *http.Request, f *file, counter *atomic.Int64) {
	c := f.content
	cw := &countingWriter{ResponseWriter: w, n: counter}
	if r.Method == http.MethodGet {
		s.mu.Lock()
		if s.corrupt[f.sha256] > 0 {
			s.corrupt[f.sha256]--
			cw.flip = true
		}
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(cw, r, "", time.Time{}, io.NewSectionReader(c, 0, c.Size()))
}

// countingWriter counts the body bytes sent and, when flip is set,
// inverts the first of them.
type countingWriter struct {
	http.ResponseWriter
	n    *atomic.Int64
	flip bool
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.flip && len(p) > 0 {
		c.flip = false
		q := append([]byte(nil), p...)
		q[0] ^= 0xff
		p = q
	}
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// LimitListener caps the sending rate of each connection l accepts at
// rate bytes per second (the GCS stand-in uses it too).
func LimitListener(l net.Listener, rate int64) net.Listener {
	return &limitListener{Listener: l, rate: rate}
}

// limitListener caps each accepted connection's sending rate.
type limitListener struct {
	net.Listener
	rate int64
}

func (l *limitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &limitConn{Conn: c, rate: l.rate, start: time.Now()}, nil
}

type limitConn struct {
	net.Conn
	rate  int64
	start time.Time
	sent  int64
}

func (c *limitConn) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), 32<<10)
		c.sent += int64(n)
		due := c.start.Add(time.Duration(float64(c.sent) / float64(c.rate) * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		} else if d < -time.Second {
			// Idle for a while (keep-alive): do not let the bucket fill up.
			c.start = time.Now().Add(-time.Duration(float64(c.sent) / float64(c.rate) * float64(time.Second)))
		}
		m, err := c.Conn.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}
