package gcs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/gcs"
	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/gcs/gcstest"
)

func readAll(t *testing.T, c gcstest.Content) []byte {
	t.Helper()
	b, err := io.ReadAll(io.NewSectionReader(c, 0, c.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// standIn holds a model of three objects: one spanning many chunks, one
// small, one empty, plus an object outside the prefix.
func standIn(t *testing.T, opts gcstest.Options) (*gcstest.Server, map[string]gcstest.Content) {
	s := gcstest.New(opts)
	t.Cleanup(s.Close)
	objs := map[string]gcstest.Content{
		"model.safetensors": gcstest.Pattern(5<<20+12345, 1),
		"config.json":       gcstest.Bytes([]byte(`{"model_type":"bert"}`)),
		"empty.txt":         gcstest.Bytes(nil),
	}
	for name, c := range objs {
		s.Put("bkt", "models/m1/"+name, c)
	}
	s.Put("bkt", "models/m10/other", gcstest.Bytes([]byte("not this")))
	return s, objs
}

func checkTree(t *testing.T, dir string, objs map[string]gcstest.Content) {
	t.Helper()
	got := readTree(t, dir)
	if len(got) != len(objs) {
		t.Errorf("downloaded %d files (%v), want %d", len(got), keys(got), len(objs))
	}
	for name, c := range objs {
		if b, ok := got[name]; !ok || !bytes.Equal([]byte(b), readAll(t, c)) {
			t.Errorf("%s: downloaded %d bytes that differ from the object's %d", name, len(b), c.Size())
		}
	}
}

func keys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

func opts(s *gcstest.Server, extra ...gcs.Option) []gcs.Option {
	return append([]gcs.Option{gcs.WithEndpoint(s.URL), gcs.WithHTTPClient(s.Client()), gcs.WithChunkSize(1 << 20), gcs.WithConcurrency(4)}, extra...)
}

func TestParallelRangedDownloadVerified(t *testing.T) {
	s, objs := standIn(t, gcstest.Options{})
	dir := filepath.Join(t.TempDir(), "model")
	var prog gcs.Progress
	n, err := gcs.Download(context.Background(), "gs://bkt/models/m1", dir, opts(s, gcs.WithProgress(&prog))...)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("Download = %d files, want 3", n)
	}
	checkTree(t, dir, objs)
	if r := s.RangedRequests(); r < 6 {
		t.Errorf("%d ranged requests, want one per 1 MiB chunk (6 for the 5 MiB object)", r)
	}
	total := int64(5<<20 + 12345 + len(`{"model_type":"bert"}`))
	if s.MediaBytes() != total {
		t.Errorf("the server sent %d bytes, want each byte once (%d)", s.MediaBytes(), total)
	}
	p := prog.Snapshot()
	if !p.Done || p.BytesDone != total || p.Bytes != total || p.FilesDone != 3 || p.Files != 3 {
		t.Errorf("progress after the download = %+v, want all %d bytes and 3 files done", p, total)
	}
	if _, err := os.Stat(filepath.Join(dir, gcs.StageDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staging directory left after a complete download: %v", err)
	}
}

// A byte flipped in transit is caught by the CRC32C and the object is
// fetched once more.
func TestCorruptObjectRefetched(t *testing.T) {
	s, objs := standIn(t, gcstest.Options{})
	s.Corrupt("bkt", "models/m1/model.safetensors", 1)
	dir := t.TempDir()
	if _, err := gcs.Download(context.Background(), "gs://bkt/models/m1", dir, opts(s)...); err != nil {
		t.Fatal(err)
	}
	checkTree(t, dir, objs)
}

// An object whose bytes never verify is refused with an error naming it,
// and nothing of it is left behind.
func TestCorruptObjectRefusedAfterTwoTries(t *testing.T) {
	s, _ := standIn(t, gcstest.Options{})
	s.Corrupt("bkt", "models/m1/model.safetensors", 100)
	dir := t.TempDir()
	_, err := gcs.Download(context.Background(), "gs://bkt/models/m1", dir, opts(s)...)
	if !errors.Is(err, gcs.ErrChecksum) || !strings.Contains(err.Error(), "gs://bkt/models/m1/model.safetensors") || !strings.Contains(err.Error(), "crc32c") {
		t.Fatalf("Download of an object corrupted every time = %v, want ErrChecksum naming the object and crc32c", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a corrupt file was left under its final name: %v", err)
	}
	for name := range readTree(t, dir) {
		if strings.HasSuffix(name, ".partial") {
			t.Errorf("the refused object's partial file was left: %s", name)
		}
	}
}

// Dropped connections are retried from the byte where they stopped.
func TestDownloadSurvivesCutConnections(t *testing.T) {
	s, objs := standIn(t, gcstest.Options{})
	s.CutAfter(400 << 10)
	dir := t.TempDir()
	if _, err := gcs.Download(context.Background(), "gs://bkt/models/m1", dir, opts(s)...); err != nil {
		t.Fatal(err)
	}
	checkTree(t, dir, objs)
	if total := int64(5<<20 + 12345 + 21); s.MediaBytes() != total {
		t.Errorf("the server sent %d bytes, want each byte once (%d)", s.MediaBytes(), total)
	}
}

// The helper process for TestResumeAfterKill: it downloads until killed.
func TestHelperDownload(t *testing.T) {
	spec := os.Getenv("GCS_TEST_CHILD")
	if spec == "" {
		t.Skip("helper process")
	}
	var c struct{ URL, Dir string }
	json.Unmarshal([]byte(spec), &c)
	_, err := gcs.Download(context.Background(), "gs://bkt/models/m1", c.Dir,
		gcs.WithEndpoint(c.URL), gcs.WithHTTPClient(http.DefaultClient), gcs.WithChunkSize(1<<20), gcs.WithConcurrency(2))
	t.Log(err)
	os.Exit(3) // should have been killed first
}

// A download killed with SIGKILL resumes from the chunks it saved.
func TestResumeAfterKill(t *testing.T) {
	s, objs := standIn(t, gcstest.Options{BytesPerSecond: 2 << 20})
	dir := t.TempDir()
	spec, _ := json.Marshal(map[string]string{"URL": s.URL, "Dir": dir})
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperDownload$")
	cmd.Env = append(os.Environ(), "GCS_TEST_CHILD="+string(spec))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for saved(t, dir) < 2<<20 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child saved no progress in 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
		t.Fatal("the child finished before it was killed; slow the stand-in down")
	}
	// A second stand-in with the same objects and generations counts
	// only the resumed download's bytes, not the dead connections'.
	s2, _ := standIn(t, gcstest.Options{})
	if _, err := gcs.Download(context.Background(), "gs://bkt/models/m1", dir, opts(s2)...); err != nil {
		t.Fatal(err)
	}
	checkTree(t, dir, objs)
	total := int64(5<<20 + 12345 + 21)
	if again := s2.MediaBytes(); again > total-2<<20 {
		t.Errorf("the resumed download fetched %d bytes, want at most %d (the child had saved at least 2 MiB)", again, total-2<<20)
	}
}

// saved is how many bytes the staged state files claim.
func saved(t *testing.T, dir string) int64 {
	var n int64
	files, _ := filepath.Glob(filepath.Join(dir, gcs.StageDir, "*.state"))
	for _, f := range files {
		var st struct{ Done []int64 }
		b, _ := os.ReadFile(f)
		json.Unmarshal(b, &st)
		for _, v := range st.Done {
			n += v
		}
	}
	return n
}

// A server that reports no checksums still gets its sizes checked.
func TestDownloadWithoutHashesChecksSize(t *testing.T) {
	s, objs := standIn(t, gcstest.Options{NoHashes: true})
	dir := t.TempDir()
	if _, err := gcs.Download(context.Background(), "gs://bkt/models/m1", dir, opts(s)...); err != nil {
		t.Fatal(err)
	}
	checkTree(t, dir, objs)
}

// stagePartial leaves what an interrupted run of Download leaves for
// models/m1/model.safetensors: its first n bytes in the partial file, and
// a state claiming them in 1 MiB chunks.
func stagePartial(t *testing.T, s *gcstest.Server, dir string, data []byte, n int64) string {
	t.Helper()
	resp, err := http.Get(s.URL + "/storage/v1/b/bkt/o?prefix=models/m1/model")
	must(t, err)
	var page struct{ Items []struct{ Generation string } }
	json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if len(page.Items) != 1 {
		t.Fatalf("listing: %d objects", len(page.Items))
	}
	const chunk = 1 << 20
	size := int64(len(data))
	done := make([]int64, (size+chunk-1)/chunk)
	for i := range done {
		done[i] = max(0, min(chunk, n-int64(i)*chunk))
	}
	sum := sha256.Sum256([]byte("models/m1/model.safetensors"))
	base := filepath.Join(dir, gcs.StageDir, hex.EncodeToString(sum[:12]))
	must(t, os.MkdirAll(filepath.Dir(base), 0o755))
	must(t, os.WriteFile(base+".partial", data[:n], 0o644))
	st, _ := json.Marshal(map[string]any{"name": "models/m1/model.safetensors", "generation": page.Items[0].Generation,
		"size": size, "chunk": chunk, "done": done})
	must(t, os.WriteFile(base+".state", st, 0o644))
	return base + ".partial"
}

// A download resumed in the middle of a chunk fetches only the missing
// bytes, and checks the whole file: the bytes it kept are read back and
// hashed with those it fetched.
func TestResumeMidChunkVerifiesKeptBytes(t *testing.T) {
	s, objs := standIn(t, gcstest.Options{})
	data := readAll(t, objs["model.safetensors"])
	dir := t.TempDir()
	kept := int64(2<<20 + 4321) // two chunks and part of the third
	stagePartial(t, s, dir, data, kept)
	if _, err := gcs.Download(context.Background(), "gs://bkt/models/m1", dir, opts(s)...); err != nil {
		t.Fatal(err)
	}
	checkTree(t, dir, objs)
	if got, want := s.MediaBytes(), int64(len(data))-kept+21; got != want {
		t.Errorf("the resumed download fetched %d bytes, want %d", got, want)
	}

	// A kept byte that changed on disk since is caught, and the object
	// fetched again from scratch.
	s2, objs := standIn(t, gcstest.Options{})
	dir = t.TempDir()
	partial := stagePartial(t, s2, dir, data, kept)
	f, err := os.OpenFile(partial, os.O_RDWR, 0)
	must(t, err)
	f.WriteAt([]byte{data[1<<20+77] ^ 0xff}, 1<<20+77)
	f.Close()
	if _, err := gcs.Download(context.Background(), "gs://bkt/models/m1", dir, opts(s2)...); err != nil {
		t.Fatal(err)
	}
	checkTree(t, dir, objs)
	if got, min := s2.MediaBytes(), int64(len(data))*2-kept; got < min {
		t.Errorf("fetched %d bytes after a kept byte changed, want the object again (at least %d)", got, min)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
