package main

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hfpack/hfpack/lockfile"
	"github.com/hfpack/hfpack/lockfile/indextest"
	"github.com/hfpack/hfpack/manifest"
	"github.com/hfpack/hfpack/python/pep508"
	"github.com/hfpack/hfpack/python/tags"
)

func TestStackIsHuggingFaceShaped(t *testing.T) {
	stack := Stack()
	if len(stack) < 60 {
		t.Errorf("%d projects, want at least 60", len(stack))
	}
	names := map[string]bool{}
	for _, p := range stack {
		names[pep508.NormalizeName(p.Name)] = true
	}
	optional := map[string]bool{"tensorflow": true, "pysocks": true} // extras nobody requests
	for _, p := range stack {
		reqs := slices.Concat(p.Requires)
		for _, rs := range p.RequiresAt {
			reqs = append(reqs, rs...)
		}
		for _, rs := range p.Extras {
			reqs = append(reqs, rs...)
		}
		for _, s := range reqs {
			r, err := pep508.ParseRequirement(s)
			if err != nil {
				t.Errorf("%s: %q: %v", p.Name, s, err)
				continue
			}
			if n := r.NormalizedName(); !names[n] && !optional[n] {
				t.Errorf("%s requires %s, which is not in the stack", p.Name, n)
			}
		}
	}
}

// TestStackResolves locks the benchmark's requirements in-process and
// checks the backtracking the stack is built to force.
func TestStackResolves(t *testing.T) {
	pypi, torch := indextest.NewServer(), indextest.NewServer()
	defer pypi.Close()
	defer torch.Close()
	stack := Stack()
	if err := Serve(stack, pypi.Index, torch.Index); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m := &manifest.Manifest{File: filepath.Join(dir, "hfpack.toml"), Dir: dir, Python: manifest.Python{
		Version: "3.11", Requirements: Requirements, IndexURL: pypi.URL,
		Indexes: []manifest.Index{{Name: "pytorch", URL: torch.URL, Packages: TorchPackages(stack)}},
	}}
	l, err := lockfile.Lock(context.Background(), m, tags.Target{Python: "3.11", Glibc: "2.35", Arch: "x86_64"}, nil,
		lockfile.WithCacheDir(t.TempDir()), lockfile.WithoutModelFiles())
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Packages) < 60 {
		t.Errorf("%d packages locked, want at least 60", len(l.Packages))
	}
	for name, want := range map[string]string{
		"transformers": "4.47.0", // not the 4.48.0rc1 pre-release
		"tokenizers":   "0.21.0",
		"torchvision":  "0.19.1+cu121", // 0.20.1 needs torch 2.5.1
		"scipy":        "1.14.1",       // 1.15.0 needs Python 3.12
		"pyarrow":      "18.0.0",       // 18.1.0 is yanked
		"triton":       "3.0.0",
		"uvloop":       "0.21.0",
	} {
		if p, ok := l.Package(name); !ok || p.Version != want {
			t.Errorf("%s locked at %q, want %s", name, p.Version, want)
		}
	}
	t.Run("backjumping", func(t *testing.T) {
		m.Python.Requirements = append(slices.Clone(Requirements), "huggingface-hub<0.27")
		l, err := lockfile.Lock(context.Background(), m, tags.Target{Python: "3.11", Glibc: "2.35", Arch: "x86_64"}, nil,
			lockfile.WithCacheDir(t.TempDir()), lockfile.WithoutModelFiles())
		if err != nil {
			t.Fatal(err)
		}
		// 4.47 needs tokenizers 0.21, which needs huggingface-hub>=0.27.
		if p, _ := l.Package("transformers"); p.Version != "4.46.0" {
			t.Errorf("transformers locked at %q, want 4.46.0", p.Version)
		}
	})
	for _, absent := range []string{"colorama", "async-timeout", "exceptiongroup", "tensorflow"} {
		if _, ok := l.Package(absent); ok {
			t.Errorf("%s is locked, but its markers exclude it on Linux with Python 3.11", absent)
		}
	}
}
