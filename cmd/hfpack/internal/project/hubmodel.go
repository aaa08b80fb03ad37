package project

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hfpack/hfpack/hub"
	"github.com/hfpack/hfpack/lockfile"
)

// checkHubLock reports a lock pinning another model than the manifest's
// model.source, revision and selection (or a Hub model the manifest no
// longer names) as stale.
func (p *Project) checkHubLock() error {
	m := p.Manifest
	locked := p.Lock.HFPack.Model
	if lockfile.HubModelMatches(m, locked) {
		if locked != nil && len(p.Lock.HFPack.ModelFiles) == 0 {
			return fmt.Errorf("%w: %s pins %s but no model files: run hfpack lock %s", ErrStaleLock, p.RelLock(), locked.Source, m.File)
		}
		return nil
	}
	what := "a local model directory"
	if locked != nil {
		what = fmt.Sprintf("%s at %s", locked.Source, locked.Revision)
	}
	return fmt.Errorf("%w: %s pins %s, not the [model] in %s: run hfpack lock %s and commit %s",
		ErrStaleLock, p.RelLock(), what, m.File, m.File, filepath.Base(p.LockPath))
}

// ModelDir is the directory holding the model's files: model.path, or for
// a Hub model the snapshot FetchModel made ("" before it ran).
func (p *Project) ModelDir() string {
	if p.modelDir != "" || p.Manifest.Model.Source != "" {
		return p.modelDir
	}
	return p.Manifest.ModelDir()
}

// HubCacheDir is where Hub model files are cached under the cache root:
// blobs by sha256, snapshots by content. No token or user name is part of
// any path.
func HubCacheDir(root string) string { return filepath.Join(root, "hub") }

// FetchModel makes the model's files available and returns their
// directory. A local model directory is returned as is; a Hub model's
// locked files are fetched at the locked commit into the cache under root
// (each verified against the lock's sha256) and linked into a snapshot
// directory, which later checks and the build read.
func (p *Project) FetchModel(ctx context.Context, root string) (string, error) {
	m := p.Manifest
	if m.Model.Source == "" {
		return p.ModelDir(), nil
	}
	if err := p.CheckLock(); err != nil {
		return "", err
	}
	snap, err := lockfile.HubSnapshot(p.Lock)
	if err != nil {
		return "", fmt.Errorf("%s: %w", p.RelLock(), err)
	}
	c, err := lockfile.HubClient(m)
	if err != nil {
		return "", err
	}
	hasher, err := FileHasher(root)
	if err != nil {
		return "", err
	}
	f := &hub.Fetcher{Client: c, Dir: HubCacheDir(root), Progress: p.ModelProgress, Verify: hasher.FileSHA256}
	dir, err := f.Snapshot(ctx, snap)
	if err != nil {
		if errors.Is(err, hub.ErrGated) || errors.Is(err, hub.ErrRepoNotFound) || errors.Is(err, hub.ErrUnauthorized) {
			return "", fmt.Errorf("fetching model %s: %w", m.Model.Source, err)
		}
		return "", fmt.Errorf("fetching model %s at %s: %w", m.Model.Source, snap.Commit, err)
	}
	p.modelDir = dir
	return dir, nil
}
