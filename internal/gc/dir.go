package gc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ReadDir calls f for each regular file in dir named as hfpack's caches
// name their files: 64 lower-case hex digits (a sha256) and suffix
// (".json" for an entry, "" for a blob), with those digits. Anything else
// (a temporary ".tmp-*", a link, another program's file) is left out, so a
// prune never removes it. A missing dir has none.
func ReadDir(dir, suffix string, f func(path, hex string, fi fs.FileInfo)) error {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the cache: %w", err)
	}
	for _, de := range des {
		hex, ok := strings.CutSuffix(de.Name(), suffix)
		if !ok || len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" || !de.Type().IsRegular() {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue // removed meanwhile
		}
		f(filepath.Join(dir, de.Name()), hex, fi)
	}
	return nil
}

// AddUnnamed adds an entry for each blob of s no entry names, of the kind
// and name describe gives it, last used when it was written: content cached
// before uses were recorded (or by a process that died before it recorded
// one) ages out like the rest rather than going on the first prune. It
// returns the index in s.Entries of each entry it added, by blob path.
func (s *Set) AddUnnamed(describe func(path string) (kind, name string)) map[string]int {
	named := map[string]bool{}
	for _, e := range s.Entries {
		for _, b := range e.Blobs {
			named[b] = true
		}
	}
	added := map[string]int{}
	for p := range s.Blobs {
		if named[p] {
			continue
		}
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		kind, name := describe(p)
		added[p] = len(s.Entries)
		s.Entries = append(s.Entries, Entry{Kind: kind, Name: name, Used: fi.ModTime(), Blobs: []string{p}})
	}
	return added
}
