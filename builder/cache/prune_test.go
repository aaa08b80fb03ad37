package cache

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hfpack/hfpack/builder/layer"
	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/internal/gc"
)

const key2 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

func writeLayerOf(t *testing.T, c *Cache, content string) *layer.Layer {
	t.Helper()
	tr := tree.New()
	if err := tr.AddBytes("a/b", 0o644, []byte(content)); err != nil {
		t.Fatal(err)
	}
	l, err := layer.Write(context.Background(), tr, c.BlobDir())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func age(t *testing.T, p string, d time.Duration) {
	t.Helper()
	old := time.Now().Add(-d)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
}

// A layer a build found counts as used then: prune by age removes the
// layers no build found within the duration, with their blobs, and keeps
// the others, which are still hits.
func TestPruneRemovesLayersNoBuildUsed(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	old, used := writeLayerOf(t, c, "old"), writeLayerOf(t, c, "used")
	if err := c.PutLayer(key, old); err != nil {
		t.Fatal(err)
	}
	if err := c.PutLayer(key2, used); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{key, key2} {
		age(t, filepath.Join(dir, "layers", k+".json"), 30*24*time.Hour)
	}
	// A build finds key2 today.
	if _, ok, err := c.Layer(key2); !ok || err != nil {
		t.Fatalf("Layer(key2) = %t, %v", ok, err)
	}
	// An orphan: a blob a killed build wrote but never recorded.
	orphan := writeLayerOf(t, c, "orphan")
	c.Close()

	r := prune(t, dir, gc.Policy{KeepDuration: 7 * 24 * time.Hour})
	if len(r.Removed) != 1 || r.Removed[0].Kind != "layer" || r.Removed[0].Name != key || r.Removed[0].Reason != "unused" {
		t.Errorf("removed %+v, want the layer %s, unused", r.Removed, key)
	}
	if r.Blobs != 2 || r.Freed < old.Descriptor().Size+orphan.Descriptor().Size {
		t.Errorf("removed %d blobs freeing %d bytes, want the old and the orphan blob", r.Blobs, r.Freed)
	}
	for _, p := range []string{old.Path(), orphan.Path()} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v, want removed", p, err)
		}
	}
	c, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok, _ := c.Layer(key); ok {
		t.Error("the pruned layer is still a hit")
	}
	if l, ok, _ := c.Layer(key2); !ok || l.Descriptor() != used.Descriptor() {
		t.Error("the layer a build used was pruned")
	}
}

func prune(t *testing.T, dir string, pol gc.Policy) *gc.Report {
	t.Helper()
	release, err := Lock(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
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

// Records that can never be used again go whatever the policy: a weights
// record whose file changed, a file hash of a file that changed. A file
// hash of an unchanged file stays however old it is.
func TestPruneRemovesStaleRecords(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "w.bin")
	kept := filepath.Join(t.TempDir(), "kept.bin")
	for _, p := range []string{src, kept} {
		if err := os.WriteFile(p, []byte("weights"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := c.FileSHA256(p); err != nil {
			t.Fatal(err)
		}
	}
	srcs, err := StatSources([]string{src})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PutRef(key, writeLayerOf(t, c, "weights").Descriptor(), srcs); err != nil {
		t.Fatal(err)
	}
	records, _ := filepath.Glob(filepath.Join(dir, "files", "*.json"))
	for _, p := range records {
		age(t, p, 400*24*time.Hour)
	}
	c.Close()
	if r := prune(t, dir, gc.Policy{KeepDuration: time.Hour}); len(r.Removed) != 0 {
		t.Errorf("removed %+v while every file is unchanged and the record is new", r.Removed)
	}
	if err := os.WriteFile(src, []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := prune(t, dir, gc.Policy{})
	var got []string
	for _, e := range r.Removed {
		got = append(got, e.Kind+":"+e.Reason)
	}
	slices.Sort(got)
	if want := []string{"file hash record:stale", "weights record:stale"}; !slices.Equal(got, want) {
		t.Errorf("removed %v, want %v", got, want)
	}
	records, _ = filepath.Glob(filepath.Join(dir, "files", "*.json"))
	if len(records) != 1 {
		t.Fatalf("%d file hash records left, want the unchanged file's", len(records))
	}
	if b, _ := os.ReadFile(records[0]); !strings.Contains(string(b), kept) {
		t.Errorf("the record left is %s, want %s's", b, kept)
	}
}

// Lock waits for every open Cache to be closed, and Open waits while the
// cache is locked: a prune never removes what a running build uses.
func TestLockWaitsForBuilds(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	waited := 0
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, dir, func() { waited++ }); !errors.Is(err, context.DeadlineExceeded) || waited != 1 {
		t.Fatalf("Lock with a cache open: %v after %d waits, want a deadline after 1", err, waited)
	}
	got := make(chan error, 1)
	go func() {
		// Bounded: a Close that released nothing fails the test, not hangs it.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		release, err := Lock(ctx, dir, nil)
		if err == nil {
			defer release()
			// Held: an Open started now waits.
			opened := make(chan struct{})
			go func() {
				if c2, err := Open(dir); err == nil {
					c2.Close()
				}
				close(opened)
			}()
			select {
			case <-opened:
				err = errors.New("Open did not wait for Lock's release")
			case <-time.After(200 * time.Millisecond):
			}
		}
		got <- err
	}()
	time.Sleep(100 * time.Millisecond)
	c.Close()
	c.Close() // twice is fine
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	c, err = Open(dir) // released
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// Prune removes only what the cache writes: files of other names, links
// and directories in its directories stay, even with All.
func TestPruneLeavesFilesItDidNotWrite(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PutLayer(key, writeLayerOf(t, c, "mine")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	outside := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(outside, []byte("not the cache's"), 0o644); err != nil {
		t.Fatal(err)
	}
	var foreign []string
	for _, sub := range []string{"layers", "refs", "files", "basefiles", "blobs/sha256"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"README", ".DS_Store", strings.ToUpper(key) + ".json", strings.ToUpper(key)} {
			p := filepath.Join(dir, sub, name)
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			foreign = append(foreign, p)
		}
		link := filepath.Join(dir, sub, key2+".json")
		if sub == "blobs/sha256" {
			link = filepath.Join(dir, sub, key2)
		}
		if err := os.Symlink(outside, link); err != nil {
			t.Fatal(err)
		}
		foreign = append(foreign, link)
	}
	foreign = append(foreign, outside)
	r := prune(t, dir, gc.Policy{All: true})
	if len(r.Removed) != 1 || r.Blobs != 1 {
		t.Errorf("removed %+v and %d blobs, want the one layer and its blob", r.Removed, r.Blobs)
	}
	for _, p := range foreign {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s: %v, want it left", p, err)
		}
	}
}

// TestMain lets a test run this binary as another process that holds a
// cache open (HFPACK_TEST_HOLD=dir) until its stdin closes.
func TestMain(m *testing.M) {
	if dir := os.Getenv("HFPACK_TEST_HOLD"); dir != "" {
		c, err := Open(dir)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("held")
		io.Copy(io.Discard, os.Stdin)
		c.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holder starts a process that opens the cache in dir; held is closed
// once it holds it, and closing stdin ends it.
func holder(t *testing.T, dir string) (held <-chan struct{}, stdin io.Closer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HFPACK_TEST_HOLD="+dir)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	ch := make(chan struct{})
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		if line == "held\n" {
			close(ch)
		}
	}()
	return ch, in
}

// A prune waiting for a running build makes builds that start meanwhile
// wait for it: a stream of overlapping builds cannot starve it.
func TestLockGatesNewBuilds(t *testing.T) {
	dir := t.TempDir()
	if c, err := Open(dir); err != nil {
		t.Fatal(err)
	} else {
		c.Close()
	}
	heldA, stopA := holder(t, dir)
	select {
	case <-heldA:
	case <-time.After(10 * time.Second):
		t.Fatal("the first build never held the cache")
	}
	locked := make(chan func(), 1)
	waiting := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		release, err := Lock(ctx, dir, func() { close(waiting) })
		if err != nil {
			t.Error(err)
			release = func() {}
		}
		locked <- release
	}()
	<-waiting
	heldB, _ := holder(t, dir)
	select {
	case <-heldB:
		t.Fatal("a build started while a prune waited went ahead of it")
	case <-time.After(500 * time.Millisecond):
	}
	stopA.Close()
	release := <-locked
	select {
	case <-heldB:
		t.Fatal("a build held the cache while the prune did")
	case <-time.After(200 * time.Millisecond):
	}
	release()
	select {
	case <-heldB:
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting build never went on after the prune")
	}
}

// A process that holds the cache opens it again (a build's preflight,
// say) while a prune waits for it: the nested open does not wait at the
// gate, which would deadlock, even through a symlink to the cache.
func TestNestedOpenPassesAWaitingPrune(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	outer, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{})
	locked := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		release, err := Lock(ctx, dir, func() { close(waiting) })
		if err == nil {
			release()
		}
		locked <- err
	}()
	<-waiting
	for _, p := range []string{dir, link} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		inner, err := OpenContext(ctx, p, nil)
		cancel()
		if err != nil {
			t.Fatalf("nested OpenContext(%s) while a prune waits: %v", p, err)
		}
		inner.Close()
	}
	outer.Close()
	if err := <-locked; err != nil {
		t.Errorf("the prune never got the cache: %v", err)
	}
}
