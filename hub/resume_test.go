package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hfpack/hfpack/hub"
	"github.com/hfpack/hfpack/hub/hubtest"
)

// TestMain lets the test binary act as a downloader that the resume test
// kills with SIGKILL in the middle of a file.
func TestMain(m *testing.M) {
	if spec := os.Getenv("HUB_TEST_FETCH_CHILD"); spec != "" {
		os.Exit(fetchChild(spec))
	}
	os.Exit(m.Run())
}

type childSpec struct {
	Endpoint string
	Dir      string
	Snapshot *hub.Snapshot
}

func fetchChild(spec string) int {
	var cs childSpec
	if err := json.Unmarshal([]byte(spec), &cs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	c, err := hub.NewClient(cs.Endpoint)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	f := &hub.Fetcher{Client: c, Dir: cs.Dir, ChunkSize: 256 << 10, Connections: 2}
	if err := f.Fetch(context.Background(), cs.Snapshot); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestDownloadKilledMidFileResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	s := newHub(t, hubtest.Options{BytesPerSecond: 2 << 20})
	files := hubtest.Model(8<<20, 5)
	s.Commit(repoID, "main", files)
	c := client(t, s, "")
	snap, err := c.Resolve(context.Background(), repoID, "main", hub.Selection{Include: []string{"model.safetensors"}, Exclude: []string{"*.json", "*.txt"}})
	if err != nil {
		t.Fatal(err)
	}
	weights := snap.Files[0]
	cache := t.TempDir()
	spec, _ := json.Marshal(childSpec{Endpoint: s.URL, Dir: cache, Snapshot: snap})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HUB_TEST_FETCH_CHILD="+string(spec))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stateFile := filepath.Join(cache, "blobs", "sha256", weights.SHA256+".state")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st struct{ Done []int64 }
		b, _ := os.ReadFile(stateFile)
		var have int64
		if json.Unmarshal(b, &st) == nil {
			for _, n := range st.Done {
				have += n
			}
		}
		if have >= 2<<20 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the child recorded only %d bytes in 30s", have)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill() // SIGKILL: no chance to clean up
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(cache, "blobs", "sha256", weights.SHA256)); err == nil {
		t.Fatal("the child finished before it was killed")
	}

	before := s.FileBytes()
	dir, err := fetcher(t, c, cache).Snapshot(context.Background(), snap)
	if err != nil {
		t.Fatal(err)
	}
	served := s.FileBytes() - before
	if served > weights.Size-(1<<20) { // slack: the killed connections may still count a few bytes
		t.Errorf("the resumed download fetched %d of %d bytes again; at least 2 MiB were already there", served, weights.Size)
	}
	if sum, _ := hashFile(filepath.Join(dir, "model.safetensors")); sum != weights.SHA256 {
		t.Errorf("the resumed file hashes to %s, want %s", sum, weights.SHA256)
	}
	t.Logf("resumed: fetched %d of %d bytes after the kill", served, weights.Size)
}

func hashFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	return sha(hubtest.Bytes(b)), nil
}
