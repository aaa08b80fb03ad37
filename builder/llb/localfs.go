package llb

import (
	"context"
	"fmt"
	"io"
	gofs "io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tonistiigi/fsutil"
	"github.com/tonistiigi/fsutil/types"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/internal/fsio"
)

// casFS is an fsutil.FS of flat, content-addressed files: each entry is a
// name (a hex sha256, or InstallerName) backed by a host file anywhere.
// Entries carry fixed metadata (root, mode 0o644 or 0o755, time 0) so
// nothing of the host leaks into the daemon's cache keys.
type casFS struct {
	names []string
	files map[string]casFile
}

type casFile struct {
	src  string
	mode gofs.FileMode
	size int64
}

func newCASFS() *casFS { return &casFS{files: map[string]casFile{}} }

// add serves the host file src as name; the first source of a name wins.
func (c *casFS) add(name, src string, mode gofs.FileMode) error {
	if _, ok := c.files[name]; ok {
		return nil
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	c.files[name] = casFile{src: src, mode: fileMode(mode), size: fi.Size()}
	c.names = append(c.names, name)
	sort.Strings(c.names)
	return nil
}

// Walk implements fsutil.FS.
func (c *casFS) Walk(ctx context.Context, target string, fn gofs.WalkDirFunc) error {
	target = strings.Trim(filepath.ToSlash(filepath.Clean(target)), "/")
	if target == "." {
		target = ""
	}
	for _, name := range c.names {
		if target != "" && target != name {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		f := c.files[name]
		st := &types.Stat{Path: name, Mode: uint32(f.mode), Size: f.size}
		if err := fn(name, &fsutil.DirEntryInfo{Stat: st}, nil); err != nil {
			return err
		}
	}
	return nil
}

// Open implements fsutil.FS.
func (c *casFS) Open(p string) (io.ReadCloser, error) {
	f, ok := c.files[filepath.ToSlash(filepath.Clean(p))]
	if !ok {
		return nil, &os.PathError{Op: "open", Path: p, Err: os.ErrNotExist}
	}
	return os.Open(f.src)
}

// LocalMounts returns the local sources a solve of p needs: LocalFiles
// (p's files and the wheels without a URL, from their Source paths) and
// LocalInstaller (the binary at installer, when p installs wheels).
func LocalMounts(p *builder.Plan, installer string, opts ...Option) (map[string]fsutil.FS, error) {
	o := makeOptions(opts)
	cas := newCASFS()
	hasWheels := false
	for _, lp := range p.Layers {
		for _, f := range lp.Files {
			if f.Linkname != "" {
				continue
			}
			if err := cas.add(f.SHA256, f.Source, f.Mode); err != nil {
				return nil, fmt.Errorf("layer %s: /%s: %w", lp.Name, f.Path, err)
			}
		}
		for _, w := range lp.Wheels {
			hasWheels = true
			if o.wheelURL(w) != "" {
				continue
			}
			if err := cas.add(w.SHA256, w.Source, 0o644); err != nil {
				return nil, fmt.Errorf("wheel %s: %w", w.Filename, err)
			}
		}
	}
	m := map[string]fsutil.FS{LocalFiles: cas}
	if hasWheels {
		if installer == "" {
			return nil, fmt.Errorf("the plan installs wheels: a static linux/amd64 hfpack binary is needed (WithInstaller)")
		}
		bin := newCASFS()
		if err := bin.add(InstallerName, installer, 0o755); err != nil {
			return nil, fmt.Errorf("installer: %w", err)
		}
		m[LocalInstaller] = bin
	}
	return m, nil
}

// WriteLocals lays out the local sources of p under dir as `buildctl build
// --local NAME=dir/NAME` reads them (for an --emit-llb definition):
// dir/LocalFiles/<sha256> and dir/LocalInstaller/InstallerName, hard links
// to the sources where possible, else copies.
func WriteLocals(p *builder.Plan, installer, dir string, opts ...Option) error {
	mounts, err := LocalMounts(p, installer, opts...)
	if err != nil {
		return err
	}
	for _, name := range []string{LocalFiles, LocalInstaller} {
		cas, ok := mounts[name].(*casFS)
		if !ok {
			continue
		}
		sub := filepath.Join(dir, name)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		for _, n := range cas.names {
			if err := place(cas.files[n], filepath.Join(sub, n)); err != nil {
				return fmt.Errorf("writing the local source %s: %w", name, err)
			}
		}
	}
	return nil
}

func place(f casFile, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return nil // content-addressed: already there
	}
	if err := os.Link(f.src, dst); err == nil {
		return os.Chmod(dst, f.mode)
	}
	in, err := os.Open(f.src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := fsio.Create(dst, f.mode)
	if err != nil {
		return err
	}
	defer tmp.Abort()
	if _, err := io.Copy(tmp, in); err != nil {
		return err
	}
	return tmp.Commit()
}
