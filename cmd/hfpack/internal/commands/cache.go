package commands

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	buildcache "github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/internal/gc"
	"github.com/hfpack/hfpack/pipeline"
)

func newCache(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "cache",
		Short: "Manage hfpack's caches",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	c.AddCommand(newCachePrune(g))
	return c
}

type pruneFlags struct {
	cacheDir     string
	keepDuration string
	keepStorage  string
	all          bool
	dryRun       bool
}

func newCachePrune(g *globals) *cobra.Command {
	f := &pruneFlags{}
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove cache entries no recent lock or build used",
		Long: `prune removes from hfpack's caches what no lock, check or build has used
within --keep-duration, then, with --keep-storage, the least recently used
entries until the caches fit: from the build cache, stored layers, the records
of weight layers regenerated from the model's files, base images' file lists
and the images BuildKit exported into hfpack's export store; from the index
cache, index pages, metadata and wheels; and the blobs only those entries
named. A remembered file hash is removed only once its file changed, since it
saves reading the file again. --all removes everything. What was removed is
fetched or built again when next needed, into the same image.

prune waits for running locks, checks and builds to finish, and those started
meanwhile wait for it. The Python runtimes and the Hugging Face Hub's files
are left as they are.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			pol, err := f.policy(cmd)
			if err != nil {
				return err
			}
			waiting := "waiting for running locks, checks and builds to finish"
			if f.dryRun {
				waiting = "waiting for a cache prune to finish" // all a dry run waits for
			}
			r, err := pipeline.PruneCache(cmd.Context(), f.cacheDir, pol, f.dryRun, func() { g.ui.Infof("%s", waiting) })
			if r == nil {
				return err
			}
			if rerr := g.ui.Result(r, func(w io.Writer) error { return writePruneReport(w, r) }); rerr != nil {
				return rerr
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.cacheDir, "cache-dir", "", "cache directory (default $HFPACK_CACHE_DIR or the user cache dir)")
	fl.StringVar(&f.keepDuration, "keep-duration", "168h", "keep what a lock or build used within this long (a Go duration, or days: 7d); 0 keeps everything by age")
	fl.StringVar(&f.keepStorage, "keep-storage", "", "then remove the least recently used until the caches take at most this much (50GB: 10^9 bytes a GB; 512MiB: 2^20 a MiB)")
	fl.BoolVar(&f.all, "all", false, "remove everything")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print what would be removed and remove nothing")
	return cmd
}

// holdCaches opens the build cache under the cache root dir (or the
// default) for a command that reads hfpack's caches, so that a prune waits
// for it: saying so once if a prune holds them, giving up with ctx. Close
// it when the command is done.
func holdCaches(ctx context.Context, g *globals, dir string) (*buildcache.Cache, error) {
	return pipeline.OpenBuildCache(ctx, dir, func() { g.ui.Infof("waiting for a cache prune to finish") })
}

// policy checks the flags and returns the gc policy they ask for.
func (f *pruneFlags) policy(cmd *cobra.Command) (gc.Policy, error) {
	if f.all {
		for _, name := range []string{"keep-duration", "keep-storage"} {
			if cmd.Flags().Changed(name) {
				return gc.Policy{}, usageError{fmt.Errorf("--all removes everything: it takes no --%s", name)}
			}
		}
		return gc.Policy{All: true}, nil
	}
	d, err := parseKeepDuration(f.keepDuration)
	if err != nil {
		return gc.Policy{}, usageError{fmt.Errorf("--keep-duration: %w", err)}
	}
	pol := gc.Policy{KeepDuration: d}
	if cmd.Flags().Changed("keep-storage") {
		n, err := parseStorage(f.keepStorage)
		if err != nil {
			return gc.Policy{}, usageError{fmt.Errorf("--keep-storage: %w", err)}
		}
		pol.KeepStorage = n
	}
	return pol, nil
}

// storageUnits are the units --keep-storage takes: decimal (GB is 10^9
// bytes, as disks are sold) and binary (GiB is 2^30). A number without a
// unit is refused: buildctl prune reads one as MB, docker as bytes.
var storageUnits = map[string]float64{
	"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40,
}

// parseStorage parses a positive size with its unit: 50GB, 1.5TiB, 512 MiB.
func parseStorage(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		return 0, fmt.Errorf("invalid size %q: want a number and a unit, such as 50GB or 512MiB", s)
	}
	mult, ok := storageUnits[strings.ToUpper(strings.TrimSpace(t[i:]))]
	n, err := strconv.ParseFloat(t[:i], 64)
	if !ok || err != nil || n*mult < 1 || n*mult >= 1<<62 {
		return 0, fmt.Errorf("invalid size %q: want a number and a unit, such as 50GB or 512MiB", s)
	}
	return int64(n * mult), nil
}

// parseKeepDuration parses a Go duration, or a whole number of days ("7d").
func parseKeepDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 1<<16 {
			return 0, fmt.Errorf("invalid duration %q: want a Go duration (168h) or whole days (7d)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q: want a Go duration (168h) or whole days (7d)", s)
	}
	return d, nil
}

func writePruneReport(w io.Writer, r *gc.Report) error {
	verb := "removed"
	if r.DryRun {
		verb = "would remove"
		for _, e := range r.Removed {
			if _, err := fmt.Fprintf(w, "%s %s: %s, last used %s\n", e.Kind, e.Name, e.Reason, e.Used.UTC().Format(time.RFC3339)); err != nil {
				return err
			}
		}
	}
	kinds := map[string]int{}
	for _, e := range r.Removed {
		kinds[e.Kind]++
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		parts = append(parts, plural(kinds[k], k))
	}
	what := "nothing"
	if len(parts) > 0 {
		what = strings.Join(parts, ", ")
	}
	_, err := fmt.Fprintf(w, "%s %s and %s, freeing %s; kept %s taking %s\n", verb, what, plural(r.Blobs, "blob"),
		units.BytesSize(float64(r.Freed)), entries(r.Kept), units.BytesSize(float64(r.KeptBytes)))
	return err
}

func entries(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return strconv.Itoa(n) + " entries"
}
