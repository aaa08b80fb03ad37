package llb

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hfpack/hfpack/internal/gc"
)

// An image a build read back is an entry naming its manifest, config and
// layers; pruning it by age removes exactly its blobs, keeps the blobs an
// image still used shares, and removes blobs no image names.
func TestStoreEntriesPruneByLastUse(t *testing.T) {
	base, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	base = mutate.MediaType(base, types.OCIManifestSchema1)
	top, err := random.Layer(512, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	newer, err := mutate.AppendLayers(base, top)
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	oldD, newD := exportInto(t, s, base), exportInto(t, s, newer)
	exportInto(t, s, orphan) // exported a month ago, never read back
	orphanBlobs, err := blobsOf(orphan)
	if err != nil {
		t.Fatal(err)
	}
	month := time.Now().Add(-30 * 24 * time.Hour)
	for _, h := range orphanBlobs {
		if err := os.Chtimes(filepath.Join(s.blobDir(), h), month, month); err != nil {
			t.Fatal(err)
		}
	}
	// and one this week, kept while it is that young.
	young, err := random.Layer(128, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	yd, _ := young.Digest()
	rc, _ := young.Compressed()
	var yb bytes.Buffer
	yb.ReadFrom(rc)
	rc.Close()
	put(t, s, yb.Bytes())
	if _, err := s.Image(oldD); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Image(newD); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-30 * 24 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, usedDir, oldD.Hex), old, old); err != nil {
		t.Fatal(err)
	}
	set, err := StoreEntries(dir)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range set.Entries {
		kinds[e.Kind]++
	}
	if kinds["image"] != 2 || kinds["exported blob"] != 4 {
		t.Fatalf("entries %v, want the two images read back and four blobs no image names", kinds)
	}
	r, err := gc.Prune(set, gc.Policy{KeepDuration: 7 * 24 * time.Hour}, time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	var removed []string
	for _, e := range r.Removed {
		removed = append(removed, e.Kind+" "+e.Name)
	}
	slices.Sort(removed)
	wantRemoved := []string{"image " + oldD.String()}
	for _, h := range orphanBlobs {
		wantRemoved = append(wantRemoved, "exported blob sha256:"+h)
	}
	slices.Sort(wantRemoved)
	if !slices.Equal(removed, wantRemoved) {
		t.Errorf("removed %v, want %v", removed, wantRemoved)
	}
	// The old image's manifest and config go; its layers stay, the newer
	// image names them. The orphan's three blobs go.
	if r.Blobs != 2+3 {
		t.Errorf("removed %d blobs, want 5", r.Blobs)
	}
	if _, err := s.Image(newD); err != nil {
		t.Errorf("the image still used does not read back: %v", err)
	}
	if _, err := s.Image(oldD); err == nil {
		t.Error("the pruned image still reads back")
	}
	want, err := blobsOf(newer)
	if err != nil {
		t.Fatal(err)
	}
	des, _ := os.ReadDir(s.blobDir())
	var got []string
	for _, de := range des {
		got = append(got, de.Name())
	}
	want = append(want, yd.Hex)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("blobs left %v, want the used image's and the young blob, %v", got, want)
	}
	// A missing store is an empty one.
	if set, err := StoreEntries(filepath.Join(dir, "missing")); err != nil || len(set.Entries)+len(set.Blobs) != 0 {
		t.Errorf("StoreEntries(missing) = %+v, %v", set, err)
	}
}

// blobsOf returns the hex digests of img's manifest, config and layers,
// sorted.
func blobsOf(img v1.Image) ([]string, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	out := []string{d.Hex, m.Config.Digest.Hex}
	for _, l := range m.Layers {
		out = append(out, l.Digest.Hex)
	}
	slices.Sort(out)
	return out, nil
}
