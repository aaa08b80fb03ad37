package baseimages

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// maxCatalogFile bounds a catalog file: rows are small, and the file is
// read whole.
const maxCatalogFile = 8 << 20

// ReadCatalogFile reads extra catalog rows from a JSON file in the shipped
// format: an object with any of the data files' tables ("images",
// "runtimes", ...), each a list of rows. Images must be pinned by digest and
// runtimes by sha256; every row must name its source. The rows remember the
// file they came from.
func ReadCatalogFile(path string) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading catalog file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCatalogFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading catalog file %s: %w", path, err)
	}
	if len(b) > maxCatalogFile {
		return nil, fmt.Errorf("catalog file %s: larger than %d MiB", path, maxCatalogFile>>20)
	}
	c, err := ParseCatalogFile(path, b)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ParseCatalogFile is ReadCatalogFile for bytes already read; path names
// the file in errors and in the rows.
func ParseCatalogFile(path string, b []byte) (*Catalog, error) {
	c := &Catalog{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("catalog file %s: %w (want the format of hfpack bases --json)", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("catalog file %s: data after the JSON object", path)
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(c.Accelerators)+len(c.CUDA)+len(c.Torch)+len(c.SystemCUDA) > 0 {
		bad("only images and runtimes can be added: accelerators, CUDA toolkits, torch builds and system_cuda rules come with hfpack")
	}
	for i := range c.Images {
		im := &c.Images[i]
		where := fmt.Sprintf("images[%d] %s:%s", i, im.Repository, im.Tag)
		if _, err := name.NewRepository(im.Repository); err != nil || im.Tag == "" {
			bad("%s: repository and tag must name an image: %v", where, err)
		}
		if !ValidDigest(im.Digest) {
			bad("%s: digest %q is not sha256:<64 hex digits>: images are pinned by digest", where, im.Digest)
		}
		if !im.DigestVerified {
			bad("%s: \"digest_verified\" is false: name images by the digest you pushed or resolved (crane digest REF)", where)
		}
		im.Catalog, im.Ref = path, im.ref()
	}
	for i := range c.Runtimes {
		rt := &c.Runtimes[i]
		where := fmt.Sprintf("runtimes[%d] %s %s", i, rt.Python, rt.Arch)
		if !hexRE.MatchString(rt.SHA256) {
			bad("%s: sha256 %q is not 64 lower-case hex digits: runtimes are pinned by sha256", where, rt.SHA256)
		}
		if !strings.HasPrefix(rt.URL, "https://") && !strings.HasPrefix(rt.URL, "http://") {
			bad("%s: url %q is not http(s)", where, rt.URL)
		}
		rt.Catalog = path
	}
	tmp := &Catalog{Images: slices.Clone(c.Images), Runtimes: slices.Clone(c.Runtimes)}
	for i := range tmp.Runtimes {
		// a catalog file may serve runtimes over plain http inside a closed network
		tmp.Runtimes[i].URL = strings.Replace(tmp.Runtimes[i].URL, "http://", "https://", 1)
	}
	tmp.Sort()
	var cerrs []error
	checkSorted(&cerrs, "images", tmp.Images, compareImages, func(im Image) string { return im.Repository + ":" + im.Tag })
	checkSorted(&cerrs, "runtimes", tmp.Runtimes, compareRuntimes, func(r PythonRuntime) string { return r.Python + " " + r.Arch })
	errs = append(errs, cerrs...)
	for _, im := range tmp.Images {
		(&Catalog{}).checkImageRow(&errs, im)
	}
	for _, r := range tmp.Runtimes {
		checkRuntimeRow(&errs, r)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("catalog file %s: %w", path, errors.Join(errs...))
	}
	return c, nil
}

// With returns the catalog plus the images and runtimes of extra (catalog
// files), sorted. Selection weighs the added rows like the shipped ones;
// where two rows tie, the catalog file's wins. An added GPU image must be
// for a CUDA version the catalog has a toolkit row for.
func (c *Catalog) With(extra ...*Catalog) (*Catalog, error) {
	if len(extra) == 0 {
		return c, nil
	}
	out := *c
	out.Images, out.Runtimes = slices.Clone(c.Images), slices.Clone(c.Runtimes)
	var errs []error
	for _, e := range extra {
		for _, im := range e.Images {
			if im.IsGPU() {
				if _, ok := c.Toolkit(im.CUDA); !ok {
					errs = append(errs, fmt.Errorf("catalog file %s: image %s:%s: CUDA %s is not a toolkit hfpack knows", im.Catalog, im.Repository, im.Tag, im.CUDA))
				}
			}
		}
		out.Images = append(out.Images, e.Images...)
		out.Runtimes = append(out.Runtimes, e.Runtimes...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortStableFunc(out.Images, func(a, b Image) int {
		if c := compareImages(a, b); c != 0 {
			return c
		}
		return boolInt(b.Catalog != "") - boolInt(a.Catalog != "")
	})
	slices.SortStableFunc(out.Runtimes, func(a, b PythonRuntime) int {
		if c := compareRuntimes(a, b); c != 0 {
			return c
		}
		return boolInt(b.Catalog != "") - boolInt(a.Catalog != "")
	})
	return &out, nil
}
