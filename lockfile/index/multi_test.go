package index

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/lockfile/indextest"
)

// TestMultiTorchIndex imitates PyPI plus a per-CUDA torch index: torch must
// come from the torch index although PyPI has a torch too, and names on the
// explicit index are never asked of PyPI.
func TestMultiTorchIndex(t *testing.T) {
	pypi := indextest.NewServer()
	defer pypi.Close()
	pypi.MustAddWheel(indextest.WheelSpec{Name: "torch", Version: "2.4.1", Tag: "cp311-cp311-manylinux_2_28_x86_64"})
	pypi.MustAddWheel(indextest.WheelSpec{Name: "numpy", Version: "2.1.0"})
	pypi.MustAddWheel(indextest.WheelSpec{Name: "filelock", Version: "3.16.1"})

	cuda := indextest.NewServer(indextest.HTMLOnly(), indextest.RelativeURLs())
	defer cuda.Close()
	cuda.MustAddWheel(indextest.WheelSpec{Name: "torch", Version: "2.4.1+cu121", Tag: "cp311-cp311-linux_x86_64",
		RequiresDist: []string{"filelock"}})
	// filelock is on both indexes but only torch is pinned to the CUDA index.
	cuda.MustAddWheel(indextest.WheelSpec{Name: "filelock", Version: "3.13.1"})

	m, err := NewMulti(pypi.URL, []Route{{URL: cuda.URL, Packages: []string{"Torch"}}}, testOptions(t)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	torch, err := m.Project(ctx, "torch")
	if err != nil {
		t.Fatal(err)
	}
	if torch.Index != cuda.URL || len(torch.Files) != 1 || !strings.Contains(torch.Files[0].Filename, "+cu121") {
		t.Errorf("torch came from %s with files %v, want the CUDA index's 2.4.1+cu121", torch.Index, torch.Files)
	}
	if n := pypi.Requests(indextest.ProjectPath("torch")); n != 0 {
		t.Errorf("the default index was asked for torch %d times", n)
	}
	filelock, err := m.Project(ctx, "filelock")
	if err != nil {
		t.Fatal(err)
	}
	if filelock.Index != pypi.URL || filelock.Files[0].Filename != "filelock-3.16.1-py3-none-any.whl" {
		t.Errorf("filelock came from %s (%v), want the default index", filelock.Index, filelock.Files)
	}
	if n := cuda.Requests(indextest.ProjectPath("filelock")); n != 0 {
		t.Errorf("the explicit index was asked for filelock %d times", n)
	}
	if ix, ok := m.Explicit("TORCH"); !ok || ix != cuda.URL {
		t.Errorf("Explicit(TORCH) = %q, %t", ix, ok)
	}
	// Metadata and downloads go back to the index that listed the file.
	md, err := m.Metadata(ctx, torch.Files[0])
	if err != nil || md.Version != "2.4.1+cu121" {
		t.Fatalf("Metadata = %v, %v", md, err)
	}
	if _, err := m.Fetch(ctx, torch.Files[0]); err != nil {
		t.Fatal(err)
	}
	if n := pypi.TotalRequests(); n != 1 {
		t.Errorf("default index got %d requests, want 1 (filelock's page)", n)
	}
}

func TestMultiExplicitNotFoundDoesNotFallBack(t *testing.T) {
	pypi := indextest.NewServer()
	defer pypi.Close()
	pypi.MustAddWheel(indextest.WheelSpec{Name: "torch", Version: "2.4.1"})
	cuda := indextest.NewServer()
	defer cuda.Close()
	m, err := NewMulti(pypi.URL, []Route{{URL: cuda.URL, Packages: []string{"torch"}}}, testOptions(t)...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Project(context.Background(), "torch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Project(torch) error = %v, want ErrNotFound from the explicit index", err)
	}
	if pypi.TotalRequests() != 0 {
		t.Error("fell back to the default index")
	}
}

func TestMultiFirstIndex(t *testing.T) {
	extra := indextest.NewServer()
	defer extra.Close()
	extra.MustAddWheel(indextest.WheelSpec{Name: "internal", Version: "1.0"})
	extra.MustAddWheel(indextest.WheelSpec{Name: "shared", Version: "1.0"})
	pypi := indextest.NewServer()
	defer pypi.Close()
	pypi.MustAddWheel(indextest.WheelSpec{Name: "shared", Version: "9.0"})
	pypi.MustAddWheel(indextest.WheelSpec{Name: "public", Version: "1.0"})

	m, err := NewMulti(pypi.URL, []Route{{URL: extra.URL}}, testOptions(t)...)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"shared": extra.URL, "internal": extra.URL, "public": pypi.URL} {
		p, err := m.Project(context.Background(), name)
		if err != nil {
			t.Fatalf("Project(%s): %v", name, err)
		}
		if p.Index != want {
			t.Errorf("Project(%s) from %s, want %s", name, p.Index, want)
		}
	}
	if n := pypi.Requests(indextest.ProjectPath("shared")); n != 0 {
		t.Errorf("shared was also looked up on the default index (%d requests)", n)
	}
	// An outage on the first index must not send the project elsewhere.
	extra.InjectFault(indextest.ProjectPath("other"), indextest.Fault{Status: 500})
	pypi.MustAddWheel(indextest.WheelSpec{Name: "other", Version: "1"})
	if _, err := m.Project(context.Background(), "other"); err == nil {
		t.Error("a 500 on the first index fell through to the default")
	}
}

func TestNewMultiRejectsDoublePin(t *testing.T) {
	_, err := NewMulti("https://pypi.org/simple/", []Route{
		{URL: "https://a.example/simple/", Packages: []string{"torch"}},
		{URL: "https://b.example/simple/", Packages: []string{"Torch"}},
	}, testOptions(t)...)
	if err == nil || !strings.Contains(err.Error(), "two indexes") {
		t.Errorf("NewMulti error = %v", err)
	}
}
