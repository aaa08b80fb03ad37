package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	buildcache "github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/llb"
	"github.com/hfpack/hfpack/internal/gc"
)

// PruneCache removes from the build cache under the cache root dir (or
// the default) what pol does not keep: stored layers, the records of
// regenerated weight layers and of base images' file lists, the images
// BuildKit exported into the export store, and every blob only those
// named; file-hash records only once their file changed (or with
// pol.All). It waits, calling wait once, until no build holds the cache,
// and builds that start meanwhile wait for it. With dryRun it removes
// nothing and reports what it would remove.
//
// The index cache (pages, metadata and wheels), the Python runtimes and
// the Hub's files are not the build cache's and are left as they are.
func PruneCache(ctx context.Context, dir string, pol gc.Policy, dryRun bool, wait func()) (*gc.Report, error) {
	root, err := CacheRoot(dir)
	if err != nil {
		return nil, err
	}
	build := buildCacheDir(root)
	release, err := buildcache.Lock(ctx, build, wait)
	if err != nil {
		return nil, fmt.Errorf("pruning the build cache: %w", err)
	}
	defer release()
	set, err := buildcache.Entries(build)
	if err != nil {
		return nil, err
	}
	store, err := llb.StoreEntries(filepath.Join(build, "buildkit"))
	if err != nil {
		return nil, err
	}
	set.Add(store)
	models, err := buildcache.HashRecords(filepath.Join(root, "model-hashes"))
	if err != nil {
		return nil, err
	}
	set.Add(models)
	return gc.Prune(set, pol, time.Now(), dryRun)
}
