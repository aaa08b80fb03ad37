// Package demoindex builds the sst2 example's package index: its one
// dependency, hfpack-demo-text, as a real wheel built from the sources under
// examples/sst2/packages. The demo serves it on 127.0.0.1:8765 (gen serve);
// tests serve it wherever they like.
package demoindex

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/hfpack/hfpack/lockfile/indextest"
)

// Addr is where the example's manifest expects its index.
const Addr = "127.0.0.1:8765"

// Dir returns the examples/sst2 directory of this source tree.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// Wheel describes the hfpack-demo-text wheel, built from its sources.
func Wheel() (indextest.WheelSpec, error) {
	spec := indextest.WheelSpec{
		Name:           "hfpack-demo-text",
		Version:        "1.0.0",
		Summary:        "Tokenizer for the hfpack sst2 example (imported as demo_text)",
		RequiresPython: ">=3.8",
		TopLevel:       []string{"demo_text"},
		ConsoleScripts: map[string]string{"demo-tokenize": "demo_text:main"},
	}
	src := filepath.Join(Dir(), "packages", "hfpack-demo-text")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".pyc") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		spec.Files = append(spec.Files, indextest.WheelFile{Path: filepath.ToSlash(rel), Data: b})
		return nil
	})
	if err != nil {
		return spec, fmt.Errorf("reading the demo package sources: %w", err)
	}
	return spec, nil
}

// New returns the example's index.
func New(opts ...indextest.Option) (*indextest.Index, error) {
	spec, err := Wheel()
	if err != nil {
		return nil, err
	}
	ix := indextest.New(opts...)
	if _, err := ix.AddWheel(spec); err != nil {
		return nil, err
	}
	return ix, nil
}
