package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Resolve is Client.Resolve keeping the files stored in git, which Resolve
// downloads to hash, in the cache: each as the blob of its sha256, where
// Fetch finds it, and named by its git blob id (the listing's blobId) in
// Dir/refs/git-blob. A file whose git blob id is there, at any commit, is
// read from the cache instead of downloaded; both its ids are checked
// against the bytes first, so a damaged cache is refetched, never used.
// Only the listing is requested again: it says which commit the revision
// points at now and which blob each file is.
func (f *Fetcher) Resolve(ctx context.Context, repo, revision string, sel Selection) (*Snapshot, error) {
	return f.Client.resolve(ctx, repo, revision, sel, f.smallFile)
}

// TempPrefix starts the names of the files Resolve downloads into the blob
// directory (BlobDir) before renaming them into place: those a killed
// process left can be told by it (see Fetcher.Hold).
const TempPrefix = ".tmp-git-blob-"

// BlobDir is the directory of the cached blobs.
func (f *Fetcher) BlobDir() string { return filepath.Join(f.Dir, "blobs", "sha256") }

// gitRef is where the sha256 of git blob oid is recorded.
func (f *Fetcher) gitRef(oid string) string { return filepath.Join(f.Dir, "refs", "git-blob", oid) }

// smallFile returns the sha256 and size of a file kept in git: from the
// cache when it holds the file's git blob, else downloaded into it.
func (f *Fetcher) smallFile(ctx context.Context, repo, commit string, sib Sibling) (string, int64, error) {
	if sib.GitOID != "" {
		if sum, n, ok := f.cachedGitBlob(sib.GitOID); ok {
			return sum, n, nil
		}
	}
	dir := f.BlobDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", 0, fmt.Errorf("model cache: %w", err)
	}
	tmp, err := os.CreateTemp(dir, TempPrefix+"*")
	if err != nil {
		return "", 0, fmt.Errorf("model cache: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	defer tmp.Close()
	if f.Hold != nil {
		release, err := f.Hold(tmp.Name())
		if err != nil {
			return "", 0, fmt.Errorf("model cache: %w", err)
		}
		defer release()
	}
	// The git blob id covers a header with the size, so it can be
	// computed while downloading only when the listing gave the size.
	var git hash.Hash
	w := io.Writer(tmp)
	if sib.GitOID != "" && sib.Size >= 0 {
		git = gitBlobHash(sib.Size)
		w = io.MultiWriter(tmp, git)
	}
	sum, n, err := f.Client.copyFile(ctx, repo, commit, sib.Path, w)
	if err != nil {
		return "", 0, err
	}
	if err := tmp.Chmod(0o444); err != nil {
		return "", 0, fmt.Errorf("model cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("model cache: %w", err)
	}
	// A blob already there keeps its inode (snapshots link to it); a
	// damaged one is found and replaced by Fetch.
	blob := f.BlobPath(sum)
	if _, err := os.Lstat(blob); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(tmp.Name(), blob); err != nil {
			return "", 0, fmt.Errorf("model cache: %w", err)
		}
	}
	// Name the blob by its git id only when the bytes are that blob.
	if git != nil && n == sib.Size && hex.EncodeToString(git.Sum(nil)) == sib.GitOID {
		if err := f.writeGitRef(sib.GitOID, sum); err != nil {
			return "", 0, err
		}
	}
	return sum, n, nil
}

// cachedGitBlob returns the sha256 and size of the cached bytes of git blob
// oid, after hashing them both ways. A record that does not match is
// removed, and a blob whose bytes are not its sha256 too.
func (f *Fetcher) cachedGitBlob(oid string) (string, int64, bool) {
	ref := f.gitRef(oid)
	b, err := os.ReadFile(ref)
	if err != nil {
		return "", 0, false
	}
	sum := strings.TrimSpace(string(b))
	if !isHex(sum, 64) {
		os.Remove(ref)
		return "", 0, false
	}
	blob := f.BlobPath(sum)
	fh, err := os.Open(blob)
	if err != nil {
		os.Remove(ref)
		return "", 0, false
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxSmallFile {
		os.Remove(ref)
		return "", 0, false
	}
	h, git := sha256.New(), gitBlobHash(fi.Size())
	n, err := io.Copy(io.MultiWriter(h, git), fh)
	if err != nil || n != fi.Size() {
		return "", 0, false
	}
	if hex.EncodeToString(h.Sum(nil)) != sum {
		os.Remove(blob)
		os.Remove(ref)
		return "", 0, false
	}
	if hex.EncodeToString(git.Sum(nil)) != oid {
		os.Remove(ref)
		return "", 0, false
	}
	return sum, n, true
}

// writeGitRef records that git blob oid is the blob sum, atomically.
func (f *Fetcher) writeGitRef(oid, sum string) error {
	ref := f.gitRef(oid)
	if err := os.MkdirAll(filepath.Dir(ref), 0o755); err != nil {
		return fmt.Errorf("model cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(ref), ".tmp-"+oid+"-*")
	if err != nil {
		return fmt.Errorf("model cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(sum + "\n")
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), ref)
	}
	if err != nil {
		return fmt.Errorf("model cache: %w", err)
	}
	return nil
}

// gitBlobHash starts git's object id of a blob of size bytes: the sha1 of
// "blob SIZE\0" followed by the bytes.
func gitBlobHash(size int64) hash.Hash {
	h := sha1.New()
	io.WriteString(h, "blob "+strconv.FormatInt(size, 10)+"\x00")
	return h
}
