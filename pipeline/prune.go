package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	buildcache "github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/llb"
	"github.com/hfpack/hfpack/internal/gc"
	"github.com/hfpack/hfpack/lockfile/cache"
)

// PruneCache removes from hfpack's caches under the cache root dir (or
// the default) what pol does not keep, least recently used first across
// both: from the build cache, stored layers, the records of regenerated
// weight layers and of base images' file lists, and the images BuildKit
// exported into the export store; from the index cache, index pages,
// metadata and wheels (cache.Entries); and every blob only those named.
// File-hash records go only once their file changed (or with pol.All). It
// waits, calling wait once, until no build, check or lock holds the build
// cache (each holds it while it reads either cache), and those that start
// meanwhile wait for it. With dryRun it removes nothing and reports what it
// would remove.
//
// The Python runtimes (their archives under index/ included) and the
// Hub's files are left as they are.
func PruneCache(ctx context.Context, dir string, pol gc.Policy, dryRun bool, wait func()) (*gc.Report, error) {
	root, err := CacheRoot(dir)
	if err != nil {
		return nil, err
	}
	build := buildCacheDir(root)
	var release func()
	if dryRun {
		// It removes nothing: it holds the cache shared, beside builds.
		var c *buildcache.Cache
		if c, err = buildcache.OpenContext(ctx, build, wait); err == nil {
			release = func() { c.Close() }
		}
	} else {
		release, err = buildcache.Lock(ctx, build, wait)
	}
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
	index, err := cache.Entries(root)
	if err != nil {
		return nil, err
	}
	set.Add(index)
	return gc.Prune(set, pol, time.Now(), dryRun)
}
