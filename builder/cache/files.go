package cache

import (
	"path/filepath"

	"github.com/hfpack/hfpack/internal/fsio"
)

// files is the cache's file-hash records (fsio.Hasher under files/).
func (c *Cache) files() *fsio.Hasher { return fsio.NewHasher(filepath.Join(c.dir, "files")) }

// FileSHA256 returns the hex sha256 of the file at path. The result is
// remembered by absolute path, size, modification time, inode and change
// time, so an unchanged file is read once; touching, rewriting or replacing
// it rehashes it, even when its size and modification time are kept.
func (c *Cache) FileSHA256(path string) (string, error) { return c.files().FileSHA256(path) }

// KnownSHA256 returns the remembered sha256 of the file src names, if it
// was recorded for the file as src saw it (size, modification time, inode,
// change time); it reads no file contents.
func (c *Cache) KnownSHA256(src Source) (string, bool) { return c.files().Known(src) }

// RememberSHA256 records sum as the sha256 of the file src names, for a
// hash the caller computed (in the same read as a layer, say). src must
// come from StatSource before the file was read, so that a change during
// the read leaves a record that no longer matches the file.
func (c *Cache) RememberSHA256(src Source, sum string) error { return c.files().Remember(src, sum) }
