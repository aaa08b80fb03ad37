package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
)

// File is one pinned file of a snapshot.
type File struct {
	Path   string
	Size   int64
	SHA256 string
}

// Snapshot is a repository's selected files at one commit: what the lock
// records and fetches use.
type Snapshot struct {
	Repo   string
	Commit string
	Files  []File // sorted by path
}

// maxSmallFile bounds a file kept in git (not LFS) that Resolve hashes by
// downloading it; the Hub itself stores files over 10 MB in LFS.
const maxSmallFile = 1 << 30

// Resolve lists repo at revision, selects files with sel and returns the
// snapshot at the commit the revision points at. LFS files take the Hub's
// sha256 (the LFS oid); files kept in git are downloaded (they are small)
// to hash them. Fetcher.Resolve keeps those downloads in its cache.
func (c *Client) Resolve(ctx context.Context, repo, revision string, sel Selection) (*Snapshot, error) {
	return c.resolve(ctx, repo, revision, sel, func(ctx context.Context, repo, commit string, sib Sibling) (string, int64, error) {
		return c.hashFile(ctx, repo, commit, sib.Path)
	})
}

// hashSmall returns the sha256 and size of a file kept in git.
type hashSmall func(ctx context.Context, repo, commit string, sib Sibling) (string, int64, error)

func (c *Client) resolve(ctx context.Context, repo, revision string, sel Selection, small hashSmall) (*Snapshot, error) {
	info, err := c.ModelInfo(ctx, repo, revision)
	if err != nil {
		return nil, err
	}
	byPath := map[string]Sibling{}
	paths := make([]string, 0, len(info.Files))
	for _, f := range info.Files {
		byPath[f.Path] = f
		paths = append(paths, f.Path)
	}
	chosen, err := sel.Select(paths)
	if err != nil {
		return nil, err
	}
	if len(chosen) == 0 {
		return nil, fmt.Errorf("model %s at %s: no file matches the selection (%d files in the repository): set model.include in hfpack.toml", repo, revision, len(paths))
	}
	s := &Snapshot{Repo: repo, Commit: info.Commit, Files: make([]File, len(chosen))}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, p := range chosen {
		sib := byPath[p]
		s.Files[i] = File{Path: p, Size: sib.Size, SHA256: sib.SHA256}
		if sib.SHA256 != "" && sib.Size >= 0 {
			continue
		}
		g.Go(func() error {
			sum, n, err := small(gctx, repo, info.Commit, sib)
			if err != nil {
				return err
			}
			if sib.Size >= 0 && n != sib.Size {
				return fmt.Errorf("%w: %s of %s is listed with %d bytes but %d were served", ErrMismatch, p, repo, sib.Size, n)
			}
			if sib.SHA256 != "" && sib.SHA256 != sum {
				return fmt.Errorf("%w: %s of %s: the LFS sha256 is %s but the bytes hash to %s", ErrMismatch, p, repo, sib.SHA256, sum)
			}
			s.Files[i].Size, s.Files[i].SHA256 = n, sum
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return s, nil
}

// hashFile downloads one file at commit and returns its sha256 and size.
func (c *Client) hashFile(ctx context.Context, repo, commit, file string) (string, int64, error) {
	return c.copyFile(ctx, repo, commit, file, io.Discard)
}

// copyFile downloads one file at commit into w and returns its sha256 and
// size.
func (c *Client) copyFile(ctx context.Context, repo, commit, file string, w io.Writer) (string, int64, error) {
	resp, err := c.do(ctx, http.MethodGet, c.resolveURL(repo, commit, file), nil, true)
	if err != nil {
		return "", 0, fmt.Errorf("downloading %s of %s: %w", file, repo, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", 0, c.fault(resp, repo, commit, file)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(h, w), redactReader{io.LimitReader(resp.Body, maxSmallFile+1)})
	if err != nil {
		return "", 0, fmt.Errorf("downloading %s of %s: %w", file, repo, err)
	}
	if n > maxSmallFile {
		return "", 0, fmt.Errorf("downloading %s of %s: larger than %d bytes without an LFS hash", file, repo, int64(maxSmallFile))
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Key identifies the snapshot's content: its repository, commit and files.
// It names the snapshot's directory in the cache.
func (s *Snapshot) Key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\n", s.Repo, s.Commit)
	files := slices.Clone(s.Files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	for _, f := range files {
		fmt.Fprintf(&b, "%s\t%d\t%s\n", f.Path, f.Size, f.SHA256)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// Validate checks the snapshot as a lock records it.
func (s *Snapshot) Validate() error {
	if err := ValidRepoID(s.Repo); err != nil {
		return err
	}
	if !IsCommit(s.Commit) {
		return fmt.Errorf("commit %q is not 40 hex digits", s.Commit)
	}
	seen := map[string]bool{}
	for _, f := range s.Files {
		if err := ValidPath(f.Path); err != nil {
			return err
		}
		if seen[f.Path] {
			return fmt.Errorf("file %q is listed twice", f.Path)
		}
		seen[f.Path] = true
		if f.Size < 0 || !isHex(f.SHA256, 64) {
			return fmt.Errorf("file %q needs a size and a sha256", f.Path)
		}
	}
	return nil
}
