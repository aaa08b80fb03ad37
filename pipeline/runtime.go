package pipeline

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/hfpack/hfpack/baseimages"
	"github.com/hfpack/hfpack/lockfile/cache"
)

// ErrUnverifiedRuntime reports a catalog runtime whose checksum is still a
// placeholder: hfpack never downloads an unpinned input.
var ErrUnverifiedRuntime = errors.New("python runtime checksum not verified")

// FetchRuntime downloads a relocatable Python (verified by its sha256) into
// the cache under root and extracts it once into root/runtimes/<sha256>. It
// returns the directory holding bin/ and lib/: the archive's python/ folder.
func FetchRuntime(ctx context.Context, root string, rt *baseimages.PythonRuntime, client *http.Client) (string, error) {
	if !rt.SHA256Verified {
		return "", fmt.Errorf("%w: the catalog has no verified sha256 for %s yet: run make bases-refresh where the network allows, or set [image] base to an image that has Python %s", ErrUnverifiedRuntime, rt.URL, rt.Python)
	}
	dir := filepath.Join(root, "runtimes", rt.SHA256)
	if st, err := os.Stat(filepath.Join(dir, "bin")); err == nil && st.IsDir() {
		return dir, nil
	}
	c, err := cache.Open(filepath.Join(root, "index"))
	if err != nil {
		return "", err
	}
	// A cached archive is checked against its sha256 (once while it is
	// unchanged); a damaged one is removed and downloaded again.
	archive, err := c.VerifyBlob(rt.SHA256)
	if errors.Is(err, cache.ErrNotFound) {
		archive, err = download(ctx, c, rt, client)
	}
	if err != nil {
		return "", err
	}
	if err := extractRuntime(archive, dir); err != nil {
		return "", fmt.Errorf("extracting the Python runtime %s: %w", path.Base(rt.URL), err)
	}
	return dir, nil
}

func download(ctx context.Context, c *cache.Cache, rt *baseimages.PythonRuntime, client *http.Client) (string, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rt.URL, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("downloading the Python runtime: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("downloading the Python runtime %s: %s", rt.URL, resp.Status)
	}
	_, p, err := c.WriteBlob(rt.URL, rt.SHA256, resp.Body)
	if err != nil {
		return "", fmt.Errorf("downloading the Python runtime: %w", err)
	}
	return p, nil
}

// extractRuntime unpacks a python-build-standalone install_only archive
// (everything under python/) into dst through a temporary sibling and a
// rename. Members outside python/, escaping paths and links that leave the
// tree are errors: the archive is checked, not trusted.
func extractRuntime(archive, dst string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".runtime-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := extractMember(tr, h, tmp); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, "bin")); err != nil {
		return errors.New("the archive has no python/bin: not an install_only build")
	}
	if err := os.Rename(tmp, dst); err != nil && !errors.Is(err, os.ErrExist) {
		if _, statErr := os.Stat(filepath.Join(dst, "bin")); statErr == nil {
			return nil // another hfpack extracted it first
		}
		return err
	}
	return nil
}

func extractMember(r io.Reader, h *tar.Header, root string) error {
	name := path.Clean(strings.TrimPrefix(h.Name, "./"))
	rel, ok := strings.CutPrefix(name, "python/")
	if name == "python" || name == "." {
		return nil
	}
	if !ok || path.IsAbs(name) || rel == ".." || strings.HasPrefix(rel, "../") || strings.Contains(rel, "/../") {
		return fmt.Errorf("member %q is outside python/", h.Name)
	}
	dst := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return os.MkdirAll(dst, 0o755)
	case tar.TypeSymlink:
		target := path.Join(path.Dir(rel), h.Linkname)
		if path.IsAbs(h.Linkname) || target == ".." || strings.HasPrefix(target, "../") {
			return fmt.Errorf("symlink %q -> %q leaves the runtime", h.Name, h.Linkname)
		}
		return os.Symlink(h.Linkname, dst)
	case tar.TypeReg:
		mode := os.FileMode(0o644)
		if h.Mode&0o111 != 0 {
			mode = 0o755
		}
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, r); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	default:
		return fmt.Errorf("member %q has unsupported type %q", h.Name, h.Typeflag)
	}
}
