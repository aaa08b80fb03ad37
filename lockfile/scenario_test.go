package lockfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/lockfile"
	"github.com/hfpack/hfpack/lockfile/indextest"
	"github.com/hfpack/hfpack/lockfile/resolve"
)

// scenario is a resolver scenario in packse's format
// (github.com/astral-sh/packse, scenarios/*.toml): the packages an index
// publishes, what the root requires, and the expected outcome. Only the keys
// below are understood; any other key fails the test, so a scenario is
// never half read.
type scenario struct {
	Name        string `toml:"name"`
	Description string `toml:"description"`
	Root        struct {
		Requires []string `toml:"requires"`
	} `toml:"root"`
	Packages map[string]struct {
		Versions map[string]struct {
			Requires       []string `toml:"requires"`
			RequiresPython string   `toml:"requires_python"`
			Yanked         bool     `toml:"yanked"`
		} `toml:"versions"`
	} `toml:"packages"`
	ResolverOptions struct {
		Prereleases bool `toml:"prereleases"`
	} `toml:"resolver_options"`
	Expected struct {
		Satisfiable bool              `toml:"satisfiable"`
		Packages    map[string]string `toml:"packages"`
		Explanation string            `toml:"explanation"`
	} `toml:"expected"`
}

// TestScenarios locks every scenario in testdata/scenarios against a
// loopback index serving it, through the same path as hfpack lock: index
// pages, PEP 658 metadata, the provider's wheel choice and the resolver.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		var sc scenario
		md, err := toml.DecodeFile(file, &sc)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			t.Fatalf("%s: keys the runner does not understand: %v", file, und)
		}
		if want := strings.TrimSuffix(filepath.Base(file), ".toml"); sc.Name != want {
			t.Fatalf("%s: name %q, want %q", file, sc.Name, want)
		}
		t.Run(sc.Name, func(t *testing.T) { runScenario(t, sc) })
	}
}

func runScenario(t *testing.T, sc scenario) {
	srv := indextest.NewServer()
	defer srv.Close()
	for name, p := range sc.Packages {
		for version, v := range p.Versions {
			var opts []indextest.FileOption
			if v.Yanked {
				opts = append(opts, indextest.Yanked(""))
			}
			srv.MustAddWheel(indextest.WheelSpec{Name: name, Version: version, RequiresDist: v.Requires, RequiresPython: v.RequiresPython}, opts...)
		}
	}
	var opts []lockfile.Option
	if sc.ResolverOptions.Prereleases {
		opts = append(opts, lockfile.WithPrereleases(resolve.PrereleasesAllow))
	}
	l, err := lock(t, srv, sc.Root.Requires, nil, opts...)
	if !sc.Expected.Satisfiable {
		if err == nil {
			t.Fatalf("%s\nlocked %v, want no solution (%s)", sc.Description, versions(l), sc.Expected.Explanation)
		}
		if !errors.Is(err, resolve.ErrNoSolution) {
			t.Fatalf("error = %v, want a resolution failure", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s\n%v\nwant a solution (%s)", sc.Description, err, sc.Expected.Explanation)
	}
	var want []string
	for name, v := range sc.Expected.Packages {
		want = append(want, name+"=="+v)
	}
	slices.Sort(want)
	if d := cmp.Diff(want, versions(l)); d != "" {
		t.Errorf("%s (%s)\nlocked versions (-want +got):\n%s", sc.Description, sc.Expected.Explanation, d)
	}
}

// TestScenarioFilesAreTOML guards the data files themselves: a scenario
// that is not valid TOML or misnamed should fail loudly, not be skipped.
func TestScenarioFilesAreTOML(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "scenarios"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".toml") {
			t.Errorf("testdata/scenarios/%s: only .toml scenarios belong here", e.Name())
		}
	}
}
