package lockfile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hfpack/hfpack/hub"
	"github.com/hfpack/hfpack/internal/leftover"
	"github.com/hfpack/hfpack/lockfile/pylock"
	"github.com/hfpack/hfpack/manifest"
)

// WithHub resolves a Hub model (model.source) with c instead of a client
// of $HF_ENDPOINT with the token from the manifest's model.token-env.
func WithHub(c *hub.Client) Option { return func(o *options) { o.hub = c } }

// WithUpgradeModel resolves model.revision to the commit it points at now
// ("hfpack lock --upgrade-model"). Without it a Hub model stays at the
// commit the previous lock pinned: a branch that moves is never followed
// silently.
func WithUpgradeModel(upgrade bool) Option { return func(o *options) { o.upgradeModel = upgrade } }

// HubClient returns a client of the Hub at $HF_ENDPOINT (default
// https://huggingface.co) with the token from the manifest's
// model.token-env, if set.
func HubClient(m *manifest.Manifest) (*hub.Client, error) {
	var opts []hub.Option
	if tok := HubToken(m.Model.TokenEnv); tok != "" {
		opts = append(opts, hub.WithToken(tok, m.Model.TokenEnv))
	}
	return hub.NewClient(hub.EndpointFromEnv(), opts...)
}

// HubToken reads the token from the environment variable env. For the
// default HF_TOKEN it falls back, as huggingface_hub does, to the file
// `hf auth login` writes: $HF_TOKEN_PATH, else $HF_HOME/token, else
// ~/.cache/huggingface/token.
func HubToken(env string) string {
	if env == "" {
		env = hub.DefaultTokenEnv
	}
	if tok := strings.TrimSpace(os.Getenv(env)); tok != "" || env != hub.DefaultTokenEnv {
		return tok
	}
	p := os.Getenv("HF_TOKEN_PATH")
	if p == "" {
		home := os.Getenv("HF_HOME")
		if home == "" {
			cache := os.Getenv("XDG_CACHE_HOME")
			if cache == "" {
				dir, err := os.UserHomeDir()
				if err != nil {
					return ""
				}
				cache = filepath.Join(dir, ".cache")
			}
			home = filepath.Join(cache, "huggingface")
		}
		p = filepath.Join(home, "token")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// HubModelMatches reports whether a lock's [tool.hfpack.model] was resolved
// from the manifest's current model.source, revision and selection
// (include, exclude, and trust-remote-code, which selects *.py files).
func HubModelMatches(m *manifest.Manifest, locked *pylock.HubModel) bool {
	if m.Model.Source == "" || locked == nil {
		return m.Model.Source == "" && locked == nil
	}
	return locked.Source == m.Model.Source && locked.Revision == m.Model.Revision &&
		sameSet(locked.Include, m.Model.Include) && sameSet(locked.Exclude, m.Model.Exclude) &&
		locked.TrustRemoteCode == m.Model.TrustRemoteCode
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// lockHubModel pins the manifest's Hub model: the previous lock's commit
// and files when they were resolved from the same source, revision and
// selection (no network), else the files of the previous commit (the
// selection changed), else, or with WithUpgradeModel, the commit the
// revision points at now.
func lockHubModel(ctx context.Context, m *manifest.Manifest, prev *pylock.Lock, o *options, cacheRoot string) (*pylock.HubModel, []pylock.ModelFile, error) {
	var old *pylock.HFPack
	if prev != nil && prev.HFPack != nil && prev.HFPack.Model != nil {
		old = prev.HFPack
	}
	if old != nil && !o.upgradeModel && HubModelMatches(m, old.Model) && len(old.ModelFiles) > 0 {
		return old.Model, old.ModelFiles, nil
	}
	rev := m.Model.Revision
	if old != nil && !o.upgradeModel && old.Model.Source == m.Model.Source && old.Model.Revision == m.Model.Revision {
		rev = old.Model.Commit
	}
	c := o.hub
	if c == nil {
		var err error
		if c, err = HubClient(m); err != nil {
			return nil, nil, err
		}
	}
	// The small files Resolve downloads to hash go into the cache the
	// build fetches into, so neither a later lock nor the build fetches
	// them again.
	f := &hub.Fetcher{Client: c, Dir: HubCacheDir(cacheRoot), Hold: leftover.Hold}
	// What a killed lock was downloading, no process holds any more.
	leftover.Clean(f.BlobDir(), hub.TempPrefix)
	snap, err := f.Resolve(ctx, m.HubRepo(), rev, hub.Selection{Include: m.Model.Include, Exclude: m.Model.Exclude, TrustRemoteCode: m.Model.TrustRemoteCode})
	if err != nil {
		return nil, nil, fmt.Errorf("locking model %s: %w", m.Model.Source, err)
	}
	hm := &pylock.HubModel{Source: m.Model.Source, Revision: m.Model.Revision, Commit: snap.Commit,
		Include: slices.Clone(m.Model.Include), Exclude: slices.Clone(m.Model.Exclude), TrustRemoteCode: m.Model.TrustRemoteCode}
	files := make([]pylock.ModelFile, len(snap.Files))
	for i, f := range snap.Files {
		files[i] = pylock.ModelFile(f)
	}
	return hm, files, nil
}

// HubCacheDir is where Hub model files are cached under the cache root:
// blobs by sha256, snapshots by content, the small files' git blob ids. No
// token or user name is part of any path.
func HubCacheDir(root string) string { return filepath.Join(root, "hub") }

// HubSnapshot is the snapshot a lock pins, for fetching.
func HubSnapshot(l *pylock.Lock) (*hub.Snapshot, error) {
	if l == nil || l.HFPack == nil || l.HFPack.Model == nil {
		return nil, fmt.Errorf("the lock pins no Hub model")
	}
	repo, err := hub.ParseSource(l.HFPack.Model.Source)
	if err != nil {
		return nil, err
	}
	s := &hub.Snapshot{Repo: repo, Commit: l.HFPack.Model.Commit}
	for _, f := range l.HFPack.ModelFiles {
		s.Files = append(s.Files, hub.File(f))
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("tool.hfpack.model: %w", err)
	}
	return s, nil
}
