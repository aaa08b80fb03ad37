package index

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strings"

	"github.com/hfpack/hfpack/lockfile/cache"
	"github.com/hfpack/hfpack/python/metadata"
)

// Metadata returns the core metadata of the wheel f: from its PEP 658
// metadata file when the index offers one (verified against the advertised
// hash), otherwise from the METADATA member of the wheel itself. Results
// are cached: a metadata file whose sha256 the index gives is read straight
// from the blob store by that hash, any other by the wheel's sha256.
func (c *Client) Metadata(ctx context.Context, f File) (*metadata.Metadata, error) {
	if !f.IsWheel() {
		return nil, fmt.Errorf("reading metadata of %s: not a wheel (hfpack installs wheels only)", f.Filename)
	}
	hashed := f.HasMetadata && f.MetadataSHA256 != ""
	if hashed {
		// ReadBlob checks the content against the hash, which the index
		// gave for this very file: no entry needs reading to trust it.
		if body, err := c.o.cache.ReadBlob(f.MetadataSHA256); err == nil {
			if m, err := metadata.Parse(body); err == nil {
				return m, nil
			}
		}
	}
	key := "metadata\x00" + f.SHA256
	if f.SHA256 == "" {
		key = "metadata\x00" + f.URL
	}
	if !hashed {
		if _, body, err := c.o.cache.Get(key); err == nil {
			if m, err := metadata.Parse(body); err == nil {
				return m, nil
			}
			c.o.cache.Delete(key)
		}
	}
	var body []byte
	var err error
	if f.HasMetadata {
		body, err = c.metadataFile(ctx, f)
	} else {
		body, err = c.wheelMetadata(ctx, f)
	}
	if err != nil {
		return nil, fmt.Errorf("reading metadata of %s: %w", f.Filename, err)
	}
	m, err := metadata.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("reading metadata of %s from %s: %w", f.Filename, Redact(f.URL), err)
	}
	if hashed {
		c.o.cache.PutBlob(body) // found by MetadataSHA256 next time
	} else {
		c.o.cache.Put(key, cache.Entry{Stored: c.o.now()}, body)
	}
	return m, nil
}

// metadataFile fetches and verifies the PEP 658 file.
func (c *Client) metadataFile(ctx context.Context, f File) ([]byte, error) {
	u := f.URL + ".metadata"
	_, body, err := c.get(ctx, u, nil)
	if err != nil {
		return nil, err
	}
	if f.MetadataSHA256 != "" {
		sum := sha256.Sum256(body)
		if got := hex.EncodeToString(sum[:]); got != f.MetadataSHA256 {
			return nil, &HashError{What: Redact(u), Want: f.MetadataSHA256, Got: got}
		}
	}
	return body, nil
}

// wheelMetadata reads the wheel's {name}-{version}.dist-info/METADATA
// member: from the cached wheel if present, else with HTTP range requests,
// else by downloading the wheel (verified, into the cache).
func (c *Client) wheelMetadata(ctx context.Context, f File) ([]byte, error) {
	if f.SHA256 == "" || !c.cached(f) {
		if c.o.ranges {
			body, err := c.rangeMetadata(ctx, f)
			if !errors.Is(err, errNoRanges) {
				return body, err
			}
		}
	}
	p, err := c.fetch(ctx, f, f.SHA256 == "")
	if err != nil {
		return nil, err
	}
	zr, err := zip.OpenReader(p)
	if err != nil {
		return nil, fmt.Errorf("opening wheel: %w", err)
	}
	defer zr.Close()
	return readWheelMetadata(&zr.Reader, f.Filename)
}

// readWheelMetadata finds the dist-info METADATA in a wheel archive.
func readWheelMetadata(zr *zip.Reader, filename string) ([]byte, error) {
	var candidates []*zip.File
	for _, zf := range zr.File {
		dir, base := path.Split(zf.Name)
		if base == "METADATA" && strings.Count(dir, "/") == 1 && strings.HasSuffix(dir, ".dist-info/") {
			candidates = append(candidates, zf)
		}
	}
	if len(candidates) > 1 {
		// Prefer the dist-info matching the filename's name-version.
		parts := strings.SplitN(filename, "-", 3)
		if len(parts) == 3 {
			want := strings.ToLower(parts[0] + "-" + parts[1] + ".dist-info/METADATA")
			for _, zf := range candidates {
				if strings.ToLower(zf.Name) == want {
					candidates = []*zip.File{zf}
					break
				}
			}
		}
	}
	if len(candidates) != 1 {
		return nil, fmt.Errorf("wheel has %d .dist-info/METADATA files, want 1", len(candidates))
	}
	rc, err := candidates[0].Open()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", candidates[0].Name, err)
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(rc, metadata.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", candidates[0].Name, err)
	}
	return body, nil
}

// Fetch downloads f into the cache's content-addressed store and returns
// the path of the verified file. A file already in the cache (and still
// matching its hash) is not downloaded again. f must carry a sha256: a
// download that does not match it is an error wrapping *HashError and
// leaves nothing in the cache.
func (c *Client) Fetch(ctx context.Context, f File) (string, error) {
	if f.SHA256 == "" {
		return "", fmt.Errorf("fetching %s: the index gave no sha256, so it cannot be verified", f.Filename)
	}
	return c.fetch(ctx, f, false)
}

// cached reports whether f's blob is in the cache (unverified).
func (c *Client) cached(f File) bool {
	_, err := os.Stat(c.o.cache.BlobPath(f.SHA256))
	return err == nil
}

func (c *Client) fetch(ctx context.Context, f File, unverified bool) (string, error) {
	if !unverified {
		if p, err := c.o.cache.VerifyBlob(f.SHA256); err == nil {
			return p, nil
		}
	}
	var path string
	err := c.retry(ctx, func() error {
		req, err := c.newRequest(ctx, f.URL)
		if err != nil {
			return err
		}
		resp, err := c.o.httpClient.Do(req)
		if err != nil {
			if transient(ctx, err) {
				return &retryable{err: transportError(f.URL, err)}
			}
			return transportError(f.URL, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			serr := &StatusError{URL: Redact(f.URL), StatusCode: resp.StatusCode}
			if serr.Temporary() {
				return &retryable{err: serr, after: retryAfter(resp.Header.Get("Retry-After"))}
			}
			return serr
		}
		_, path, err = c.o.cache.WriteBlob(Redact(f.URL), f.SHA256, resp.Body)
		var he *HashError
		if err != nil && !errors.As(err, &he) && transient(ctx, err) {
			return &retryable{err: transportError(f.URL, err)}
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("fetching %s: %w", f.Filename, err)
	}
	return path, nil
}
