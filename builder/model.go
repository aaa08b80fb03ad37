package builder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// ErrModelSymlink reports a symlink in the model directory that points
// outside it.
var ErrModelSymlink = errors.New("model symlink points outside the model directory")

// modelLayers lists the model directory (unhashed: NewPlan hashes it) and
// splits it into layers: each
// large file in a layer of its own (or, beyond MaxModelLayers, balanced
// groups), then one layer of everything small. Large files come first since
// weights change less often than configuration.
func modelLayers(in Inputs) ([]LayerPlan, error) {
	if in.ModelDir == "" {
		return nil, nil
	}
	files, err := walkDir(in.ModelDir, ModelImagePath)
	if err != nil {
		return nil, err
	}
	var large, small []FileRef
	for _, f := range files {
		if f.Linkname == "" && f.Size >= in.LargeFile {
			large = append(large, f)
		} else {
			small = append(small, f)
		}
	}
	var out []LayerPlan
	groups := balance(large, in.MaxModelLayers,
		func(f FileRef) int64 { return f.Size }, func(f FileRef) string { return f.Path })
	for _, group := range groups {
		out = append(out, LayerPlan{Files: group})
	}
	if len(small) > 0 {
		out = append(out, LayerPlan{Files: small})
	}
	for i := range out {
		out[i].Name = fmt.Sprintf("model-%d", i)
		out[i].Compression = in.Compression.Weights
		l, _, err := finish(out[i])
		if err != nil {
			return nil, err
		}
		out[i] = l
	}
	return out, nil
}

// balance puts items into at most n groups of similar total size: largest
// first into the lightest group (lowest index on ties); items of equal size
// go in key order. Deterministic. With n or fewer items, each is its own group.
func balance[T any](items []T, n int, size func(T) int64, key func(T) string) [][]T {
	if len(items) <= n {
		out := make([][]T, len(items))
		for i, it := range items {
			out[i] = []T{it}
		}
		return out
	}
	sorted := append([]T(nil), items...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if si, sj := size(sorted[i]), size(sorted[j]); si != sj {
			return si > sj
		}
		return key(sorted[i]) < key(sorted[j])
	})
	out := make([][]T, n)
	totals := make([]int64, n)
	for _, it := range sorted {
		lightest := 0
		for i := 1; i < n; i++ {
			if totals[i] < totals[lightest] {
				lightest = i
			}
		}
		out[lightest] = append(out[lightest], it)
		totals[lightest] += size(it)
	}
	return out
}

// walkDir lists every file and symlink under dir, placed under the image
// path dst, in sorted order, with their sizes; it reads no contents.
// Symlinks must resolve inside dir; they are kept as relative links.
func walkDir(dir, dst string) ([]FileRef, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if root, err = filepath.EvalSymlinks(root); err != nil {
		return nil, fmt.Errorf("%w: directory for %s: %w", ErrInvalidInputs, dst, err)
	}
	base, _ := imagePath(dst)
	var out []FileRef
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root || d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		dst := path.Join(base, filepath.ToSlash(rel))
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := modelLinkTarget(root, p, rel)
			if err != nil {
				return err
			}
			out = append(out, FileRef{Path: dst, Mode: 0o777, Linkname: target})
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			out = append(out, FileRef{Path: dst, Mode: normMode(fi.Mode(), false), Size: fi.Size(), Source: p})
		default:
			return fmt.Errorf("%w: %s is not a regular file, directory or symlink", ErrInvalidInputs, p)
		}
		return nil
	})
	return out, err
}

// modelLinkTarget resolves the symlink at p (rel inside root) and returns
// its target relative to the link's directory, or ErrModelSymlink.
func modelLinkTarget(root, p, rel string) (string, error) {
	outside := func() error {
		return fmt.Errorf("%w: %s: copy the file into the model directory or download the model with --local-dir", ErrModelSymlink, rel)
	}
	resolved, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("%w: model symlink %s: %w", ErrInvalidInputs, rel, err)
	}
	in, err := filepath.Rel(root, resolved)
	if err != nil || in == ".." || strings.HasPrefix(in, ".."+string(filepath.Separator)) {
		return "", outside()
	}
	fi, err := os.Stat(resolved)
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		return "", fmt.Errorf("%w: model symlink %s points to a directory", ErrInvalidInputs, rel)
	}
	target, err := filepath.Rel(filepath.Dir(filepath.Join(root, rel)), resolved)
	if err != nil {
		return "", outside()
	}
	return filepath.ToSlash(target), nil
}
