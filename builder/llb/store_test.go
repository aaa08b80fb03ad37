package llb

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/hfpack/hfpack/builder/publish"
)

func descOf(b []byte) ocispec.Descriptor {
	return ocispec.Descriptor{Digest: digest.FromBytes(b), Size: int64(len(b))}
}

// put writes b into s as the daemon's exporter does (content.WriteBlob).
func put(t *testing.T, s *Store, b []byte) {
	t.Helper()
	d := descOf(b)
	if err := content.WriteBlob(context.Background(), s, "ref-"+d.Digest.Encoded(), bytes.NewReader(b), d); err != nil {
		t.Fatalf("WriteBlob(%s) = %v", d.Digest, err)
	}
}

// tmpFiles lists the temporaries in s's blob directory.
func tmpFiles(t *testing.T, s *Store) []string {
	t.Helper()
	entries, err := os.ReadDir(s.blobDir())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// A blob the store has is refused before any byte is sent; a new one is
// received once, whatever the number of concurrent writers.
func TestStoreReceivesOnlyMissingBlobs(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	blob := []byte("a layer")
	put(t, s, blob)
	if got := s.Received(); got != 1 {
		t.Fatalf("received %d blobs, want 1", got)
	}
	if _, err := s.Writer(context.Background(), content.WithRef("again"), content.WithDescriptor(descOf(blob))); !errdefs.IsAlreadyExists(err) {
		t.Errorf("Writer(blob the store has) = %v, want an AlreadyExists error", err)
	}
	put(t, s, blob) // content.WriteBlob treats AlreadyExists as done
	if got := s.Received(); got != 1 {
		t.Errorf("received %d blobs after writing the same one again, want 1", got)
	}
	info, err := s.Info(context.Background(), descOf(blob).Digest)
	if err != nil || info.Size != int64(len(blob)) {
		t.Errorf("Info = %+v, %v; want size %d", info, err, len(blob))
	}
	if _, err := s.Info(context.Background(), digest.FromString("other")); !errdefs.IsNotFound(err) {
		t.Errorf("Info(missing) = %v, want a NotFound error", err)
	}

	other := bytes.Repeat([]byte("x"), 1<<20)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { put(t, s, other) })
	}
	wg.Wait()
	if b, err := os.ReadFile(filepath.Join(s.blobDir(), descOf(other).Digest.Encoded())); err != nil || !bytes.Equal(b, other) {
		t.Errorf("concurrently written blob: %d bytes, %v", len(b), err)
	}
	if tmp := tmpFiles(t, s); len(tmp) > 0 {
		t.Errorf("temporaries left: %q", tmp)
	}
}

// Content that does not match the announced digest or size never lands in
// the store under that digest, and leaves no temporary behind.
func TestStoreRefusesWrongContent(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := descOf([]byte("the real layer"))
	for _, tt := range []struct {
		name string
		data []byte
		size int64
	}{
		{"other bytes", []byte("a forged layer"), want.Size},
		{"short", []byte("the real"), want.Size},
		{"long", []byte("the real layer and more"), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, err := s.Writer(context.Background(), content.WithRef(tt.name), content.WithDescriptor(want))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(tt.data); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(context.Background(), tt.size, want.Digest); !errdefs.IsFailedPrecondition(err) {
				t.Errorf("Commit = %v, want a FailedPrecondition error", err)
			}
			if _, err := s.Info(context.Background(), want.Digest); !errdefs.IsNotFound(err) {
				t.Errorf("after a refused commit, Info = %v, want NotFound", err)
			}
			if tmp := tmpFiles(t, s); len(tmp) > 0 {
				t.Errorf("temporaries left: %q", tmp)
			}
		})
	}
	// A writer closed before its commit (a cancelled export) leaves nothing.
	w, err := s.Writer(context.Background(), content.WithRef("cancelled"), content.WithDescriptor(want))
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("the real"))
	w.Close()
	if tmp := tmpFiles(t, s); len(tmp) > 0 {
		t.Errorf("temporaries left after Close: %q", tmp)
	}
}

// exportInto writes img's blobs into s as BuildKit's exporter would.
func exportInto(t *testing.T, s *Store, img v1.Image) v1.Hash {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(rc)
		rc.Close()
		put(t, s, b.Bytes())
	}
	for _, get := range []func() ([]byte, error){img.RawConfigFile, img.RawManifest} {
		b, err := get()
		if err != nil {
			t.Fatal(err)
		}
		put(t, s, b)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestStoreImageReadsBackAndChecks(t *testing.T) {
	img, err := random.Image(2048, 3)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d := exportInto(t, s, img)
	got, err := s.Image(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Errorf("validate.Image(read back) = %v", err)
	}
	if gd, _ := got.Digest(); gd != d {
		t.Errorf("digest read back %s, want %s", gd, d)
	}
	ls, _ := got.Layers()
	if p, ok := ls[0].(interface{ Path() string }); !ok || !strings.HasPrefix(p.Path(), s.Dir()) {
		t.Errorf("layer of a store image does not name its blob file in the store (%T)", ls[0])
	}

	// A damaged store is an error naming the blob, never an image.
	m, _ := img.Manifest()
	rawManifest, _ := img.RawManifest()
	for _, tt := range []struct {
		name string
		blob v1.Hash
		data []byte
		want string
	}{
		{"manifest rewritten", d, append(bytes.Clone(rawManifest), ' '), "has digest"},
		{"config rewritten", m.Config.Digest, []byte(`{}`), "has digest"},
		{"layer truncated", m.Layers[1].Digest, []byte("x"), "has 1 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s2, err := OpenStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			exportInto(t, s2, img)
			if err := os.WriteFile(filepath.Join(s2.blobDir(), tt.blob.Hex), tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := s2.Image(d); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Image(%s) = %v, want an error containing %q", tt.name, err, tt.want)
			}
		})
	}
	if _, err := s.Image(v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("1", 64)}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Image(missing) = %v, want ErrNotExist", err)
	}
}

// An image read back from the store publishes to every kind of output, as
// the embedded builder's does: here a docker archive, which reads the
// layers' streams rather than linking their files.
func TestStoreImagePublishesDockerArchive(t *testing.T) {
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Image(exportInto(t, s, img))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "image.tar")
	if _, err := publish.Publish(context.Background(), got, publish.Target{Kind: publish.DockerArchive, Path: path, Ref: "hfpack.local/x:y"}); err != nil {
		t.Fatal(err)
	}
	back, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.ConfigName()
	if cn, err := back.ConfigName(); err != nil || cn != want {
		t.Errorf("docker archive's config %s, %v; want %s", cn, err, want)
	}
	if err := validate.Image(back); err != nil {
		t.Errorf("validate.Image(docker archive) = %v", err)
	}
}
