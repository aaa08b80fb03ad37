package pipeline

import (
	"context"
	"errors"
	"fmt"

	buildcache "github.com/hfpack/hfpack/builder/cache"
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
// any path. Lock keeps the small files it hashes there too.
func HubCacheDir(root string) string { return lockfile.HubCacheDir(root) }

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
	defer hasher.Close()
	// The fetch verifies every file (hashing a download as it arrives):
	// what it verified is recorded, and the check against the lock that
	// follows reads nothing again.
	remember := func(path, sum string) error {
		src, err := buildcache.StatSource(path)
		if err != nil {
			return err
		}
		if known, ok := hasher.KnownSHA256(src); ok && known == sum {
			return nil
		}
		return hasher.RememberSHA256(src, sum)
	}
	f := &hub.Fetcher{Client: c, Dir: HubCacheDir(root), Progress: p.ModelProgress, Verify: hasher.FileSHA256, Remember: remember}
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
