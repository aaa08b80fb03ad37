package indextest

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteIndexDir writes the index as a static PEP 503 tree under dir:
//
//	dir/simple/index.html
//	dir/simple/{name}/index.html   (relative links, #sha256= fragments)
//	dir/files/{filename}
//	dir/files/{filename}.metadata  (unless WithoutMetadata)
//
// Any static file server rooted at dir (python3 -m http.server, say) then
// serves a working index at /simple/. Fault injection does not apply.
func (ix *Index) WriteIndexDir(dir string) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	saved := ix.cfg.relative
	ix.cfg.relative = true
	defer func() { ix.cfg.relative = saved }()

	projects := ix.projects()
	if err := writeFile(filepath.Join(dir, "simple", "index.html"), ix.renderRootHTML(projects)); err != nil {
		return err
	}
	for _, p := range projects {
		files, _ := ix.projectFiles(p)
		if raw, ok := ix.raw[p]; ok {
			if err := writeFile(filepath.Join(dir, "simple", p, "index.html"), raw.body); err != nil {
				return err
			}
		} else if err := writeFile(filepath.Join(dir, "simple", p, "index.html"), ix.renderHTML("", p, files)); err != nil {
			return err
		}
		for _, f := range files {
			if err := writeFile(filepath.Join(dir, "files", f.filename), f.data); err != nil {
				return err
			}
			if ix.cfg.metadata && f.metadata != nil {
				if err := writeFile(filepath.Join(dir, "files", f.filename+".metadata"), f.metadata); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing index dir: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing index dir: %w", err)
	}
	return nil
}
