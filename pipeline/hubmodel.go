package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hfpack/hfpack/hub"
	"github.com/hfpack/hfpack/lockfile"
)

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
