package cache

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hfpack/hfpack/internal/fsio"
	"github.com/hfpack/hfpack/internal/gc"
)

const month = 30 * 24 * time.Hour

// wheelBytes returns a small zip archive, as a wheel is, holding name.
func wheelBytes(t *testing.T, name string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create(name + "-1.0.dist-info/METADATA")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("Metadata-Version: 2.1\nName: " + name + "\nVersion: 1.0\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func age(t *testing.T, d time.Duration, paths ...string) {
	t.Helper()
	old := time.Now().Add(-d)
	for _, p := range paths {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
}

// ageAll makes every entry file, marker and blob of the cache in dir look
// last used (or written) d ago.
func ageAll(t *testing.T, dir string, d time.Duration) {
	t.Helper()
	for _, sub := range []string{"refs", "used", "verified", "blobs/sha256"} {
		des, err := os.ReadDir(filepath.Join(dir, sub))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, de := range des {
			age(t, d, filepath.Join(dir, sub, de.Name()))
		}
	}
}

func prune(t *testing.T, dir string, pol gc.Policy) *gc.Report {
	t.Helper()
	set, err := Entries(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := gc.Prune(set, pol, time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func removed(r *gc.Report) []string {
	var out []string
	for _, e := range r.Removed {
		out = append(out, e.Kind+" "+e.Name+" "+e.Reason)
	}
	slices.Sort(out)
	return out
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func fileID(t *testing.T, p string) fsio.FileID {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fsio.IDOf(fi)
}

const page = "https://example.com/simple/"

// Each read records its use: prune by age removes the wheels, metadata and
// pages no lock or build read within the duration, with their blobs and
// remembered hashes, and keeps those read today, which are still hits.
// Recording a use changes no blob's times (size, modification and change
// times, inode), by which the cache and others remember it.
func TestPruneRemovesWhatNoReadUsed(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	type item struct{ wheel, meta, hashedMeta, body string }
	put := func(name string) item {
		t.Helper()
		wheel, _, err := c.WriteBlob(name+".whl", "", bytes.NewReader(wheelBytes(t, name)))
		if err != nil {
			t.Fatal(err)
		}
		// Metadata read from the wheel, kept under the wheel's sha256.
		if _, err := c.Put("metadata\x00"+wheel, Entry{}, []byte("Metadata-Version: 2.1\nName: "+name+"\n")); err != nil {
			t.Fatal(err)
		}
		// PEP 658 metadata, found by the sha256 the index gives.
		hashed, err := c.PutBlob([]byte("Metadata-Version: 2.1\nName: " + name + "\nSummary: hashed\n"))
		if err != nil {
			t.Fatal(err)
		}
		e, err := c.Put("page\x00"+name, Entry{URL: page + name + "/", ContentType: "text/html"}, []byte("<a>"+name+"</a>"))
		if err != nil {
			t.Fatal(err)
		}
		return item{wheel, "metadata\x00" + wheel, hashed, e.Digest}
	}
	old, used := put("old"), put("used")
	if _, err := c.VerifyBlob(old.wheel); err != nil { // remembered hash
		t.Fatal(err)
	}
	ageAll(t, dir, month)

	// A lock and a build today read what they need of "used".
	ids := map[string]fsio.FileID{}
	for _, s := range []string{used.wheel, used.hashedMeta, used.body} {
		ids[s] = fileID(t, c.BlobPath(s))
	}
	if _, err := c.VerifyBlob(used.wheel); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadBlob(used.hashedMeta); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Get(used.meta); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup("page\x00used"); err != nil {
		t.Fatal(err)
	}
	for s, id := range ids {
		if got := fileID(t, c.BlobPath(s)); got != id {
			t.Errorf("recording the use of blob %s changed it: %+v, was %+v", s, got, id)
		}
	}

	r := prune(t, dir, gc.Policy{KeepDuration: 7 * 24 * time.Hour})
	want := []string{
		"index page " + page + "old/ unused",
		"metadata file " + old.hashedMeta + " unused",
		"metadata file " + filepath.Base(strings.TrimSuffix(c.refPath(old.meta), ".json")) + " unused",
		"wheel " + old.wheel + " unused",
	}
	slices.Sort(want)
	if got := removed(r); !slices.Equal(got, want) {
		t.Errorf("removed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r.Blobs != 4 || r.Freed == 0 || r.Kept != 4 {
		t.Errorf("report %+v, want 4 blobs removed (wheel, both metadata, page) and 4 entries kept", r)
	}
	for _, s := range []string{old.wheel, old.hashedMeta, old.body} {
		if exists(c.BlobPath(s)) {
			t.Errorf("blob %s of an unused entry is left", s)
		}
	}
	if recs, _ := os.ReadDir(filepath.Join(dir, "verified")); len(recs) != 1 {
		t.Errorf("%d remembered hashes left, want the used wheel's only", len(recs))
	}

	// What was removed is a miss, what was used a hit.
	if _, err := c.VerifyBlob(old.wheel); !errors.Is(err, ErrNotFound) {
		t.Errorf("VerifyBlob(pruned wheel) = %v, want ErrNotFound", err)
	}
	if _, err := c.ReadBlob(old.hashedMeta); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReadBlob(pruned metadata) = %v, want ErrNotFound", err)
	}
	for _, k := range []string{old.meta, "page\x00old"} {
		if _, _, err := c.Get(k); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) after prune = %v, want ErrNotFound", k, err)
		}
	}
	if p, err := c.VerifyBlob(used.wheel); err != nil || p != c.BlobPath(used.wheel) {
		t.Errorf("VerifyBlob(used wheel) = %s, %v", p, err)
	}
	if b, err := c.ReadBlob(used.hashedMeta); err != nil || !strings.Contains(string(b), "Name: used") {
		t.Errorf("ReadBlob(used metadata) = %q, %v", b, err)
	}
	if _, b, err := c.Get("page\x00used"); err != nil || string(b) != "<a>used</a>" {
		t.Errorf("Get(used page) = %q, %v", b, err)
	}
}

// Writing a blob or an entry is a use too: nothing fresh goes by age.
func TestPruneKeepsWhatWasJustWritten(t *testing.T) {
	dir := t.TempDir()
	c, _ := Open(dir)
	if _, _, err := c.WriteBlob("w.whl", "", bytes.NewReader(wheelBytes(t, "w"))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBlob([]byte("Metadata-Version: 2.1\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put("page", Entry{URL: page}, []byte("body")); err != nil {
		t.Fatal(err)
	}
	if r := prune(t, dir, gc.Policy{KeepDuration: time.Hour}); len(r.Removed) != 0 || r.Blobs != 0 || r.Kept != 3 {
		t.Errorf("prune of what was just written: %+v", r)
	}
}

// Beyond KeepStorage the least recently used go first.
func TestPruneKeepStorageLeastRecentlyUsedFirst(t *testing.T) {
	dir := t.TempDir()
	c, _ := Open(dir)
	var sums []string
	for i, d := range []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour} {
		s, _, err := c.WriteBlob("w.whl", "", bytes.NewReader(wheelBytes(t, strings.Repeat("w", i+1))))
		if err != nil {
			t.Fatal(err)
		}
		age(t, d, c.BlobPath(s)) // written then, read since by none
		sums = append(sums, s)
	}
	// Room for one wheel and its remembered hash, not two.
	wheel, _ := os.Stat(c.BlobPath(sums[1]))
	var rec int64
	recs, _ := filepath.Glob(filepath.Join(dir, "verified", "*.json"))
	for _, p := range recs {
		if fi, err := os.Stat(p); err == nil {
			rec = max(rec, fi.Size())
		}
	}
	room := wheel.Size() + rec + 16
	r := prune(t, dir, gc.Policy{KeepStorage: room})
	got := removed(r)
	want := []string{"wheel " + sums[0] + " size", "wheel " + sums[2] + " size"}
	slices.Sort(want)
	if !slices.Equal(got, want) || !exists(c.BlobPath(sums[1])) {
		t.Errorf("removed %v, want the two used longest ago", got)
	}
}

// A blob a prune removed is a miss, fetched again and verified again: no
// remembered hash of the removed file vouches for what takes its place.
func TestPrunedBlobIsFetchedAgain(t *testing.T) {
	dir := t.TempDir()
	c, _ := Open(dir)
	data := wheelBytes(t, "w")
	s, p, err := c.WriteBlob("w.whl", "", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put("page", Entry{URL: page}, []byte("body")); err != nil {
		t.Fatal(err)
	}
	r := prune(t, dir, gc.Policy{All: true})
	if r.Kept != 0 || r.Blobs != 2 {
		t.Errorf("prune --all: %+v", r)
	}
	for _, sub := range []string{"blobs/sha256", "refs", "used", "verified"} {
		if left, _ := os.ReadDir(filepath.Join(dir, sub)); len(left) != 0 {
			t.Errorf("prune --all left %d files in %s", len(left), sub)
		}
	}
	if _, err := c.VerifyBlob(s); !errors.Is(err, ErrNotFound) {
		t.Fatalf("VerifyBlob after prune = %v, want ErrNotFound", err)
	}
	if _, err := c.Lookup("page"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Lookup after prune = %v, want ErrNotFound", err)
	}
	// Something else at the path, of the same size: found wrong, removed.
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 1
	if err := os.WriteFile(p, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.VerifyBlob(s); !errors.Is(err, ErrNotFound) {
		t.Fatalf("VerifyBlob of other content after prune = %v, want ErrNotFound", err)
	}
	// Fetched again: a hit with the right content.
	if _, _, err := c.WriteBlob("w.whl", s, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if got, err := c.VerifyBlob(s); err != nil || got != p {
		t.Fatalf("VerifyBlob after fetching again = %s, %v", got, err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, data) {
		t.Error("the blob fetched again holds other content")
	}
	if r := prune(t, dir, gc.Policy{KeepDuration: time.Hour}); len(r.Removed) != 0 || r.Blobs != 0 {
		t.Errorf("prune after fetching again: %+v", r)
	}
}

// A blob no entry names (written by a process killed before it recorded
// it), a marker or an entry whose blob is gone, a damaged entry and the
// remembered hash of a blob that goes are removed whatever the age; files
// the cache does not write (another name, a temporary, a link) stay.
func TestPruneRemovesOrphansAndStale(t *testing.T) {
	dir := t.TempDir()
	c, _ := Open(dir)
	keep, _, err := c.WriteBlob("keep.whl", "", bytes.NewReader(wheelBytes(t, "keep")))
	if err != nil {
		t.Fatal(err)
	}
	orphan, _, err := c.WriteBlob("orphan.whl", "", bytes.NewReader(wheelBytes(t, "orphan")))
	if err != nil {
		t.Fatal(err)
	}
	// Fetched a month ago (by an hfpack that kept no markers, say) and
	// read by none since: it counts as used when it was written.
	month := time.Now().Add(-30 * 24 * time.Hour)
	if err := os.Chtimes(c.BlobPath(orphan), month, month); err != nil {
		t.Fatal(err)
	}
	// One fetched this week by an hfpack that kept no markers stays.
	recent, _, err := c.WriteBlob("recent.whl", "", bytes.NewReader(wheelBytes(t, "recent")))
	if err != nil {
		t.Fatal(err)
	}
	gone, err := c.PutBlob([]byte("gone"))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(c.BlobPath(gone))
	// A marker whose blob went (removed by hand, say).
	if err := os.MkdirAll(filepath.Join(dir, usedDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, usedDir, gone), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := c.Put("bodiless", Entry{URL: page + "bodiless/"}, []byte("bodiless"))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(c.BlobPath(e.Digest))
	if err := os.WriteFile(c.refPath("damaged"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}

	outside := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(outside, []byte("not the cache's"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, usedDir), 0o755); err != nil {
		t.Fatal(err)
	}
	foreign := []string{
		filepath.Join(dir, "blobs", "sha256", "README"),
		filepath.Join(dir, "blobs", "sha256", ".tmp-blob-123"),
		filepath.Join(dir, "refs", "notes.json"),
		filepath.Join(dir, usedDir, strings.ToUpper(keep)),
	}
	for _, p := range foreign {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "blobs", "sha256", strings.Repeat("a", 64))
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	usedLink := filepath.Join(dir, usedDir, strings.Repeat("b", 64))
	if err := os.Symlink(outside, usedLink); err != nil {
		t.Fatal(err)
	}
	foreign = append(foreign, link, usedLink, outside)

	r := prune(t, dir, gc.Policy{KeepDuration: 7 * 24 * time.Hour})
	want := []string{
		"wheel " + orphan + " unused",
		"index blob " + gone + " stale",
		"index page " + page + "bodiless/ stale",
		"metadata file " + strings.TrimSuffix(filepath.Base(c.refPath("damaged")), ".json") + " stale",
	}
	if abs, _ := filepath.Abs(c.BlobPath(orphan)); abs != c.BlobPath(orphan) {
		t.Fatalf("the test wants an absolute cache directory, got %s", dir)
	}
	slices.Sort(want)
	if got := removed(r); !slices.Equal(got, want) {
		t.Errorf("removed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r.Blobs != 1 || exists(c.BlobPath(orphan)) {
		t.Errorf("removed %d blobs, want the orphan", r.Blobs)
	}
	for _, sum := range []string{keep, recent} {
		if _, err := c.VerifyBlob(sum); err != nil {
			t.Errorf("VerifyBlob(kept wheel %s) = %v", sum, err)
		}
	}
	if _, err := c.Lookup("damaged"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(damaged) = %v", err)
	}
	r = prune(t, dir, gc.Policy{All: true})
	for _, p := range foreign {
		if !exists(p) {
			t.Errorf("prune removed %s, which the cache did not write", p)
		}
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "not the cache's" {
		t.Errorf("the file outside the cache: %q, %v", b, err)
	}
}

func TestEntriesOfMissingDir(t *testing.T) {
	set, err := Entries(filepath.Join(t.TempDir(), "none"))
	if err != nil || len(set.Entries) != 0 || len(set.Blobs) != 0 {
		t.Errorf("Entries(missing) = %+v, %v", set, err)
	}
}
