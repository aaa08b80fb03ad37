package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
	"golang.org/x/sync/errgroup"

	"github.com/hfpack/hfpack/hub/rangefetch"
)

// Defaults of a Fetcher.
const (
	DefaultConnections = 8
	DefaultChunkSize   = 64 << 20
)

// Progress receives the bytes of a fetch as they arrive.
type Progress interface {
	Add(n int64)
	Done()
}

// Fetcher downloads pinned files into a content-addressed cache:
// Dir/blobs/sha256/HEX. Large files are split into chunks fetched over
// parallel connections with Range requests; an interrupted download keeps
// its chunks (Dir/blobs/sha256/HEX.partial and .state) and resumes. Every
// file is hashed as it arrives and moves into the cache only when its
// sha256 and size match the snapshot; a mismatch is fetched once more,
// then refused. Memory stays bounded: one buffer per connection.
type Fetcher struct {
	Client *Client
	// Dir is the cache directory.
	Dir string
	// Connections is the number of parallel requests (default 8).
	Connections int
	// ChunkSize is the size of one ranged request (default 64 MiB).
	ChunkSize int64
	// Progress, when set, is called once with the bytes to fetch.
	Progress func(total int64) Progress
	// Verify returns the sha256 of a blob already in the cache (the build
	// passes its hash cache); nil hashes the file.
	Verify func(path string) (string, error)
	// Remember, when set, is told the sha256 of every file of the
	// directory Snapshot returns, and of its blob, once Snapshot has
	// verified them: hashed as they arrived, or by Verify. The build
	// records them in its hash cache, so checking the model against the
	// lock reads no file a second time.
	Remember func(path, sha256 string) error
	// Hold, when set, is called with each temporary file Resolve creates
	// in BlobDir, and the release it returns once the file is renamed or
	// removed: with it a caller can remove the temporaries (TempPrefix)
	// a killed process left without touching a live one's
	// (internal/leftover's Hold and Clean).
	Hold func(path string) (release func(), err error)
}

// BlobPath is where the blob with sha256 sum lives in the cache.
func (f *Fetcher) BlobPath(sum string) string { return filepath.Join(f.BlobDir(), sum) }

// Snapshot fetches the snapshot's files and returns a directory holding
// them under their repository paths (hard links to the blobs), the model
// directory a build reads.
func (f *Fetcher) Snapshot(ctx context.Context, s *Snapshot) (string, error) {
	if err := s.Validate(); err != nil {
		return "", fmt.Errorf("snapshot of %s: %w", s.Repo, err)
	}
	if err := f.Fetch(ctx, s); err != nil {
		return "", err
	}
	dir, err := f.materialize(s)
	if err != nil || f.Remember == nil {
		return dir, err
	}
	// Every blob was verified by Fetch just now. Their records are made
	// after the links, which change a file's change time.
	for _, file := range s.Files {
		for _, p := range []string{f.BlobPath(file.SHA256), filepath.Join(dir, filepath.FromSlash(file.Path))} {
			if err := f.Remember(p, file.SHA256); err != nil {
				return "", fmt.Errorf("model cache: %w", err)
			}
		}
	}
	return dir, nil
}

// Fetch makes every file of s present and verified in the cache.
func (f *Fetcher) Fetch(ctx context.Context, s *Snapshot) error {
	var todo []*download
	seen := map[string]bool{}
	for _, file := range s.Files {
		if seen[file.SHA256] {
			continue
		}
		seen[file.SHA256] = true
		ok, err := f.cached(file)
		if err != nil {
			return err
		}
		if !ok {
			todo = append(todo, f.newDownload(s.Repo, s.Commit, file))
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(f.BlobPath(s.Files[0].SHA256)), 0o755); err != nil {
		return fmt.Errorf("model cache: %w", err)
	}
	// One process at a time fetches a blob; the others wait, then find it cached.
	var mine []*download
	for _, d := range todo {
		lk := flock.New(f.BlobPath(d.file.SHA256) + ".lock")
		if _, err := lk.TryLockContext(ctx, 50*time.Millisecond); err != nil {
			return fmt.Errorf("model cache: locking %s: %w", d.file.Path, err)
		}
		defer lk.Unlock()
		ok, err := f.cached(d.file)
		if err != nil {
			return err
		}
		if !ok {
			mine = append(mine, d)
		}
	}
	todo = mine
	if len(todo) == 0 {
		return nil
	}
	var total int64
	for _, d := range todo {
		total += d.file.Size
	}
	var prog Progress = nopProgress{}
	if f.Progress != nil {
		prog = f.Progress(total)
	}
	for round := 0; len(todo) > 0; round++ {
		bad, err := f.round(ctx, todo, prog, round > 0)
		if err != nil {
			return err
		}
		if round > 0 && len(bad) > 0 {
			d := bad[0]
			return fmt.Errorf("%w: %s of %s at %s: the Hub served bytes whose sha256 is %s twice, but the lock pinned %s: run hfpack lock --upgrade-model if the model changed on purpose",
				ErrMismatch, d.file.Path, s.Repo, s.Commit, d.got, d.file.SHA256)
		}
		todo = bad
	}
	prog.Done() // only on success: a failed fetch is reported by its error
	return nil
}

// cached reports whether the blob of file is in the cache with the right
// size and hash. A blob that does not match is removed (the cache is
// hfpack's own) so it is fetched again.
func (f *Fetcher) cached(file File) (bool, error) {
	p := f.BlobPath(file.SHA256)
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("model cache: %w", err)
	}
	if fi.Mode().IsRegular() && fi.Size() == file.Size {
		verify := f.Verify
		if verify == nil {
			verify = hashPath
		}
		if sum, err := verify(p); err == nil && sum == file.SHA256 {
			return true, nil
		}
	}
	if err := os.Remove(p); err != nil {
		return false, fmt.Errorf("model cache: removing corrupt blob: %w", err)
	}
	return false, nil
}

func hashPath(p string) (string, error) {
	fh, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type nopProgress struct{}

func (nopProgress) Add(int64) {}
func (nopProgress) Done()     {}

// round downloads todo (from scratch when fresh) and returns the
// downloads whose bytes did not hash to the pinned sha256.
func (f *Fetcher) round(ctx context.Context, todo []*download, prog Progress, fresh bool) ([]*download, error) {
	chunk := f.ChunkSize
	if chunk <= 0 {
		chunk = DefaultChunkSize
	}
	conns := f.Connections
	if conns <= 0 {
		conns = DefaultConnections
	}
	type job struct {
		d *download
		i int
	}
	var jobs []job
	defer func() {
		for _, d := range todo {
			d.Close()
		}
	}()
	for _, d := range todo {
		have, err := d.open(chunk, fresh)
		if err != nil {
			return nil, err
		}
		prog.Add(have)
		for _, i := range d.Missing() {
			jobs = append(jobs, job{d, i})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, d := range todo {
		g.Go(func() error { return d.hash(gctx) })
	}
	next := make(chan job)
	g.Go(func() error {
		defer close(next)
		for _, j := range jobs {
			select {
			case next <- j:
			case <-gctx.Done():
				return nil
			}
		}
		return nil
	})
	for range min(conns, max(len(jobs), 1)) {
		g.Go(func() error {
			buf := make([]byte, rangefetch.BufSize)
			for j := range next {
				if err := j.d.fetchChunk(gctx, j.i, buf, prog); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		for _, d := range todo {
			d.Checkpoint(true)
		}
		return nil, err
	}
	var bad []*download
	for _, d := range todo {
		if err := d.finish(); err != nil {
			if errors.Is(err, ErrMismatch) {
				bad = append(bad, d)
				continue
			}
			return nil, err
		}
	}
	return bad, nil
}

// download is one file being fetched into its .partial file.
type download struct {
	rangefetch.File
	f            *Fetcher
	repo, commit string
	file         File

	resolveMu sync.Mutex
	mu        sync.Mutex
	location  string // where GETs go; "" until resolved
	hashed    string // the sha256 once every byte has been hashed
	got       string
}

func (f *Fetcher) newDownload(repo, commit string, file File) *download {
	blob := f.BlobPath(file.SHA256)
	return &download{
		File: rangefetch.File{
			Size:      file.Size,
			Partial:   blob + ".partial",
			StateFile: blob + ".state",
			WrapIO:    func(err error) error { return fmt.Errorf("model cache: %w", err) },
		},
		f: f, repo: repo, commit: commit, file: file,
	}
}

// open opens the partial file, resuming the chunks a previous run saved
// unless fresh, and returns the bytes already present.
func (d *download) open(chunk int64, fresh bool) (int64, error) {
	d.hashed, d.got = "", ""
	return d.Open(chunk, fresh)
}

// resolve finds where the file's bytes are served: a HEAD on the resolve
// URL at the pinned commit, not following a redirect to another host (the
// file CDN, whose signed URL is then used without the token).
func (d *download) resolve(ctx context.Context, refresh bool) (string, error) {
	d.resolveMu.Lock() // one HEAD per file, not one per connection
	defer d.resolveMu.Unlock()
	d.mu.Lock()
	loc := d.location
	d.mu.Unlock()
	if loc != "" && !refresh {
		return loc, nil
	}
	c := d.f.Client
	u := c.resolveURL(d.repo, d.commit, d.file.Path)
	resp, err := c.do(ctx, http.MethodHead, u, nil, false)
	if err != nil {
		return "", fmt.Errorf("downloading %s of %s: %w", d.file.Path, d.repo, err)
	}
	drain(resp)
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		next, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			return "", fmt.Errorf("downloading %s of %s: bad redirect: %w", d.file.Path, d.repo, err)
		}
		loc = next.String()
	case resp.StatusCode == http.StatusOK:
		loc = resp.Request.URL.String()
	default:
		return "", c.fault(resp, d.repo, d.commit, d.file.Path)
	}
	if rc := resp.Header.Get("X-Repo-Commit"); rc != "" && rc != d.commit {
		return "", fmt.Errorf("%w: %s of %s: asked for commit %s, the Hub answered for %s", ErrMismatch, d.file.Path, d.repo, d.commit, clip(rc))
	}
	if ls := resp.Header.Get("X-Linked-Size"); ls != "" {
		if n, err := strconv.ParseInt(ls, 10, 64); err == nil && n != d.file.Size {
			return "", fmt.Errorf("%w: %s of %s at %s is %d bytes on the Hub; the lock pinned %d: run hfpack lock --upgrade-model",
				ErrMismatch, d.file.Path, d.repo, d.commit, n, d.file.Size)
		}
	}
	if et := normalizeETag(resp.Header.Get("X-Linked-Etag")); isHex(et, 64) && et != d.file.SHA256 {
		return "", fmt.Errorf("%w: %s of %s at %s has sha256 %s on the Hub; the lock pinned %s: run hfpack lock --upgrade-model",
			ErrMismatch, d.file.Path, d.repo, d.commit, et, d.file.SHA256)
	}
	d.mu.Lock()
	d.location = loc
	d.mu.Unlock()
	return loc, nil
}

// normalizeETag strips W/ and quotes, as huggingface_hub's _normalize_etag.
func normalizeETag(e string) string { return strings.Trim(strings.TrimPrefix(e, "W/"), `"`) }

// fetchChunk downloads the rest of chunk i, retrying transient failures
// from where the last attempt stopped.
func (d *download) fetchChunk(ctx context.Context, i int, buf []byte, prog Progress) error {
	c := d.f.Client
	refresh := false
	var last error
	for attempt := 0; attempt <= c.retries+1; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, c.backoff<<min(attempt-1, 6)); err != nil {
				return err
			}
		}
		loc, err := d.resolve(ctx, refresh)
		if err != nil {
			return err
		}
		refresh = false
		err = d.get(ctx, loc, i, buf, prog)
		if err == nil {
			d.Checkpoint(true)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var he *HTTPError
		switch {
		case errors.As(err, &he) && (he.Status == http.StatusForbidden || he.Status == http.StatusGone || he.Status == http.StatusNotFound || he.Status == http.StatusUnauthorized):
			refresh = true // an expired signed URL: resolve again
		case errors.As(err, &he) && !he.Temporary():
			return fmt.Errorf("downloading %s of %s: %w", d.file.Path, d.repo, err)
		case he == nil && !retryable(err):
			return fmt.Errorf("downloading %s of %s: %w", d.file.Path, d.repo, err)
		}
		last = err
	}
	return fmt.Errorf("downloading %s of %s: %w", d.file.Path, d.repo, last)
}

// get requests the missing bytes of chunk i and writes them in place.
func (d *download) get(ctx context.Context, loc string, i int, buf []byte, prog Progress) error {
	start, end := d.Span(i) // end exclusive
	if start >= end {
		return nil
	}
	hdr := http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", start, end-1)}}
	resp, err := d.f.Client.do(ctx, http.MethodGet, loc, hdr, true)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body := io.Reader(resp.Body)
	switch resp.StatusCode {
	case http.StatusPartialContent:
		first, last, total, err := ParseContentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return fmt.Errorf("GET %s: %w", stripQuery(loc), err)
		}
		if first != start || last >= end || total >= 0 && total != d.file.Size {
			return fmt.Errorf("%w: GET %s: asked for bytes %d-%d of %d, got %d-%d of %d", ErrMismatch, stripQuery(loc), start, end-1, d.file.Size, first, last, total)
		}
	case http.StatusOK:
		// The server ignored Range: skip to the bytes this chunk needs.
		if _, err := io.CopyN(io.Discard, body, start); err != nil {
			return fmt.Errorf("GET %s: %w", stripQuery(loc), io.ErrUnexpectedEOF)
		}
	default:
		return &HTTPError{Method: http.MethodGet, URL: stripQuery(loc), Status: resp.StatusCode,
			Code: resp.Header.Get("X-Error-Code"), Message: clip(resp.Header.Get("X-Error-Message"))}
	}
	// A read error may carry the signed URL: redact it.
	return d.Fill(i, start, end, redactReader{body}, buf, prog.Add)
}

// redactReader strips the query from the errors of r.
type redactReader struct{ r io.Reader }

func (r redactReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = redactErr(err)
	}
	return n, err
}

// hash reads the file in order as its prefix arrives, so hashing overlaps
// the download, and records the sha256 when every byte has been read.
func (d *download) hash(ctx context.Context) error {
	h := sha256.New()
	_, cancelled, err := d.Follow(ctx, h)
	if err != nil || cancelled {
		return err
	}
	d.mu.Lock()
	d.hashed = hex.EncodeToString(h.Sum(nil))
	d.mu.Unlock()
	return nil
}

// finish moves a complete, verified file into the cache (read-only), or
// resets it and reports ErrMismatch.
func (d *download) finish() error {
	d.mu.Lock()
	sum := d.hashed
	d.mu.Unlock()
	d.got = sum
	if sum != d.file.SHA256 {
		d.Close()
		os.Remove(d.Partial)
		os.Remove(d.StateFile)
		return ErrMismatch
	}
	if err := d.Out().Chmod(0o444); err != nil {
		return fmt.Errorf("model cache: %w", err)
	}
	d.Close()
	if err := os.Rename(d.Partial, d.f.BlobPath(d.file.SHA256)); err != nil {
		return fmt.Errorf("model cache: %w", err)
	}
	os.Remove(d.StateFile)
	return nil
}

// ParseContentRange parses "bytes FIRST-LAST/TOTAL" (TOTAL may be "*",
// returned as -1).
func ParseContentRange(s string) (first, last, total int64, err error) {
	bad := fmt.Errorf("bad Content-Range %q", clip(s))
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, 0, bad
	}
	rng, tot, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, 0, bad
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, 0, bad
	}
	first, err1 := parseUint(a)
	last, err2 := parseUint(b)
	total = -1
	var err3 error
	if tot != "*" {
		total, err3 = parseUint(tot)
	}
	if err1 != nil || err2 != nil || err3 != nil || last < first || total >= 0 && last >= total {
		return 0, 0, 0, bad
	}
	return first, last, total, nil
}

func parseUint(s string) (int64, error) {
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, errors.New("not a number")
	}
	return strconv.ParseInt(s, 10, 64)
}

// materialize links the snapshot's blobs into Dir/snapshots/KEY, built in
// a temporary directory and renamed into place.
func (f *Fetcher) materialize(s *Snapshot) (string, error) {
	dir := filepath.Join(f.Dir, "snapshots", s.Key()[:32])
	if f.complete(dir, s) {
		return dir, nil
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("model cache: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".tmp-")
	if err != nil {
		return "", fmt.Errorf("model cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, file := range s.Files {
		dst := filepath.Join(tmp, filepath.FromSlash(file.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", fmt.Errorf("model snapshot: %s: %w", file.Path, err)
		}
		if err := linkOrCopy(f.BlobPath(file.SHA256), dst); err != nil {
			return "", fmt.Errorf("model snapshot: %s: %w", file.Path, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another process made it first, or a broken one is in the way.
		if f.complete(dir, s) {
			return dir, nil
		}
		if err := os.RemoveAll(dir); err != nil {
			return "", fmt.Errorf("model cache: %w", err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			return "", fmt.Errorf("model cache: %w", err)
		}
	}
	return dir, nil
}

// complete reports whether dir holds exactly the snapshot's files, each
// the cached blob itself.
func (f *Fetcher) complete(dir string, s *Snapshot) bool {
	n := 0
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			n++
		}
		return err
	})
	if err != nil || n != len(s.Files) {
		return false
	}
	for _, file := range s.Files {
		a, err1 := os.Lstat(filepath.Join(dir, filepath.FromSlash(file.Path)))
		b, err2 := os.Stat(f.BlobPath(file.SHA256))
		if err1 != nil || err2 != nil || !a.Mode().IsRegular() || a.Size() != file.Size || !os.SameFile(a, b) {
			return false
		}
	}
	return true
}

func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
