package imports

import (
	"archive/zip"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hfpack/hfpack/internal/fsio"
)

// moduleCacheVersion is part of every record: bump it when ModulesOfWheel
// changes what it reports, and old records are ignored.
const moduleCacheVersion = 1

// ModuleCache remembers the top-level modules each wheel provides, keyed by
// the wheel's sha256: they never change for the same bytes, and reading the
// central directory of a wheel of 60,000 files on every build costs more
// than the rest of a no-op build. A nil *ModuleCache remembers nothing.
type ModuleCache struct {
	dir string
}

// NewModuleCache returns the cache kept in dir, created on first write.
func NewModuleCache(dir string) *ModuleCache { return &ModuleCache{dir: dir} }

type moduleRecord struct {
	Version int      `json:"version"`
	SHA256  string   `json:"sha256"`
	Modules []string `json:"modules"`
}

// ModulesOfWheelFile returns ModulesOfWheel of the wheel file at path, whose
// contents the caller verified to have the hex sha256 sum. A remembered
// answer is returned without opening the file.
func (c *ModuleCache) ModulesOfWheelFile(path, sum string) ([]string, error) {
	var rec string
	if c != nil && validSHA256(sum) {
		rec = filepath.Join(c.dir, sum+".json")
		if b, err := os.ReadFile(rec); err == nil {
			var r moduleRecord
			if json.Unmarshal(b, &r) == nil && r.Version == moduleCacheVersion && r.SHA256 == sum && r.Modules != nil {
				return r.Modules, nil
			}
		}
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	mods := ModulesOfWheel(&zr.Reader)
	if rec != "" {
		// The cache is an optimisation: failing to write it fails nothing.
		writeRecord(rec, moduleRecord{Version: moduleCacheVersion, SHA256: sum, Modules: mods})
	}
	return mods, nil
}

func validSHA256(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 32 && hex.EncodeToString(b) == s
}

// writeRecord writes r to a temporary file beside path and renames it into
// place, so a reader never sees half a record.
func writeRecord(path string, r moduleRecord) error {
	if r.Modules == nil {
		r.Modules = []string{}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := fsio.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
