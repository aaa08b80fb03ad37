package gc

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// fixture writes a cache of entries and blobs into a temporary directory:
// blob name -> size, entry -> (days since its last use, blobs it names).
type fixtureEntry struct {
	name  string
	days  int
	blobs []string
	stale bool
	pin   bool
}

func fixture(t *testing.T, blobs map[string]int, entries []fixtureEntry) (Set, string) {
	t.Helper()
	dir := t.TempDir()
	set := Set{Blobs: map[string]Blob{}}
	for name, size := range blobs {
		p := filepath.Join(dir, "blob-"+name)
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := StatBlob(p)
		if err != nil {
			t.Fatal(err)
		}
		set.Blobs[p] = b
	}
	for _, e := range entries {
		p := filepath.Join(dir, "entry-"+e.name)
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		ge := Entry{Kind: "layer", Name: e.name, Used: now.Add(-time.Duration(e.days) * 24 * time.Hour), Files: []string{p}, Stale: e.stale, Pinned: e.pin}
		for _, b := range e.blobs {
			ge.Blobs = append(ge.Blobs, filepath.Join(dir, "blob-"+b))
		}
		set.Entries = append(set.Entries, ge)
	}
	return set, dir
}

func names(rs []Removed) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name+":"+r.Reason)
	}
	return out
}

func present(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

func TestPlanByAge(t *testing.T) {
	set, _ := fixture(t, map[string]int{"a": 10, "b": 20, "shared": 30, "orphan": 40},
		[]fixtureEntry{
			{name: "old", days: 30, blobs: []string{"a", "shared"}},
			{name: "new", days: 1, blobs: []string{"b", "shared"}},
			{name: "stale", days: 0, stale: true},
			{name: "pinned", days: 365, pin: true},
		})
	drop, blobs := Plan(set, Policy{KeepDuration: 7 * 24 * time.Hour}, now)
	if got, want := names(drop), []string{"old:unused", "stale:stale"}; !slices.Equal(got, want) {
		t.Errorf("removed %v, want %v", got, want)
	}
	var got []string
	for _, b := range blobs {
		got = append(got, filepath.Base(b))
	}
	// "shared" stays: the kept entry "new" names it.
	if want := []string{"blob-a", "blob-orphan"}; !slices.Equal(got, want) {
		t.Errorf("blobs removed %v, want %v", got, want)
	}
	// KeepDuration zero keeps every entry, whatever its age.
	if drop, _ := Plan(set, Policy{}, now); !slices.Equal(names(drop), []string{"stale:stale"}) {
		t.Errorf("with no age limit, removed %v", names(drop))
	}
}

func TestPlanBySizeLeastRecentlyUsedFirst(t *testing.T) {
	set, _ := fixture(t, map[string]int{"a": 100, "b": 100, "c": 100, "shared": 50},
		[]fixtureEntry{
			{name: "c", days: 1, blobs: []string{"c"}},
			{name: "a", days: 3, blobs: []string{"a", "shared"}},
			{name: "b", days: 2, blobs: []string{"b", "shared"}},
			{name: "pinned", days: 9, pin: true},
		})
	// 350 bytes of blobs and 4 entry files of 2 bytes. Removing "a" frees
	// 100+2 (shared is still named by b): 250 is not reached; removing "b"
	// frees 150+2 more.
	drop, _ := Plan(set, Policy{KeepStorage: 250}, now)
	if got, want := names(drop), []string{"a:size", "b:size"}; !slices.Equal(got, want) {
		t.Errorf("removed %v, want %v", got, want)
	}
	drop, _ = Plan(set, Policy{KeepStorage: 1 << 20}, now)
	if len(drop) != 0 {
		t.Errorf("under the limit, removed %v", names(drop))
	}
}

func TestPruneRemovesFilesThenBlobs(t *testing.T) {
	set, dir := fixture(t, map[string]int{"a": 10, "b": 20},
		[]fixtureEntry{{name: "old", days: 30, blobs: []string{"a"}}, {name: "new", days: 0, blobs: []string{"b"}}})
	// A blob also linked elsewhere (an OCI layout) frees nothing.
	if err := os.Link(filepath.Join(dir, "blob-a"), filepath.Join(t.TempDir(), "linked")); err != nil {
		t.Fatal(err)
	}
	set.Blobs[filepath.Join(dir, "blob-a")] = mustStat(t, filepath.Join(dir, "blob-a"))
	pol := Policy{KeepDuration: 24 * time.Hour}
	r, err := Prune(set, pol, now, true)
	if err != nil {
		t.Fatal(err)
	}
	if !r.DryRun || len(r.Removed) != 1 || r.Blobs != 1 {
		t.Errorf("dry run report %+v", r)
	}
	if got := present(t, dir); len(got) != 4 {
		t.Fatalf("a dry run removed files: left %v", got)
	}
	r, err = Prune(set, pol, now, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := present(t, dir), []string{"blob-b", "entry-new"}; !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
	if r.Freed != 2 { // the entry file; blob-a has another link
		t.Errorf("freed %d bytes, want 2", r.Freed)
	}
	if r.Kept != 1 || r.KeptBytes != 22 {
		t.Errorf("kept %d entries of %d bytes, want 1 of 22", r.Kept, r.KeptBytes)
	}
	// Pruning again finds the files gone and is not an error.
	if r, err := Prune(set, Policy{All: true}, now, false); err != nil || r.Kept != 0 {
		t.Errorf("second prune: %v, kept %d entries, want none", err, r.Kept)
	}
	if got := present(t, dir); len(got) != 0 {
		t.Errorf("--all left %v", got)
	}
}

func mustStat(t *testing.T, p string) Blob {
	t.Helper()
	b, err := StatBlob(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An entry whose file cannot be removed stays, and so do its blobs: a blob
// is never gone while an entry still names it.
func TestPruneKeepsBlobsOfAnEntryLeftInPlace(t *testing.T) {
	set, dir := fixture(t, map[string]int{"a": 10, "b": 20},
		[]fixtureEntry{{name: "stuck", days: 30, blobs: []string{"a"}}, {name: "old", days: 30, blobs: []string{"b"}}})
	stuck := filepath.Join(dir, "entry-stuck")
	// A non-empty directory where the entry file was: os.Remove fails.
	if err := os.Remove(stuck); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(stuck, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := Prune(set, Policy{KeepDuration: time.Hour}, now, false)
	if err == nil {
		t.Error("Prune did not report the entry it could not remove")
	}
	if got, want := present(t, dir), []string{"blob-a", "entry-stuck"}; !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
	if got := names(r.Removed); !slices.Equal(got, []string{"old:unused"}) || r.Blobs != 1 || r.Kept != 1 {
		t.Errorf("report: removed %v and %d blobs, kept %d; want old, 1 blob, 1 kept", got, r.Blobs, r.Kept)
	}
}

// Nothing to remove is an empty list in JSON, not null.
func TestReportRemovedIsAList(t *testing.T) {
	r, err := Prune(Set{}, Policy{}, now, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Removed == nil {
		t.Error("Report.Removed is nil")
	}
}

// Two entries of the same kind and name (one model file's hash recorded in
// two caches) are reported each for itself.
func TestPruneReportsSameNamedEntriesApart(t *testing.T) {
	dir := t.TempDir()
	gone, stuck := filepath.Join(dir, "gone"), filepath.Join(dir, "stuck")
	if err := os.WriteFile(gone, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(stuck, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	set := Set{Entries: []Entry{
		{Kind: "file hash record", Name: "/m/a", Used: now, Stale: true, Files: []string{gone}},
		{Kind: "file hash record", Name: "/m/a", Used: now, Stale: true, Files: []string{stuck}},
	}}
	r, err := Prune(set, Policy{}, now, false)
	if err == nil {
		t.Error("Prune did not report the entry it could not remove")
	}
	if len(r.Removed) != 1 || r.Kept != 1 {
		t.Errorf("removed %d and kept %d, want 1 and 1", len(r.Removed), r.Kept)
	}
}

// The report lists what was removed least recently used first, whatever
// the rule that removed it.
func TestReportIsLeastRecentlyUsedFirst(t *testing.T) {
	set, _ := fixture(t, map[string]int{"a": 100, "b": 100},
		[]fixtureEntry{{name: "stale", days: 0, stale: true}, {name: "big", days: 5, blobs: []string{"a"}}, {name: "new", days: 1, blobs: []string{"b"}}})
	r, err := Prune(set, Policy{KeepStorage: 150}, now, true)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(r.Removed), []string{"big:size", "stale:stale"}; !slices.Equal(got, want) {
		t.Errorf("removed %v, want %v", got, want)
	}
}
