package commands

import (
	"fmt"

	"github.com/hfpack/hfpack/cmd/hfpack/internal/ui"
	"github.com/hfpack/hfpack/hub"
	"github.com/hfpack/hfpack/pipeline"
)

// openProject opens the manifest at path with its long reads reported on
// u: a Hub model's download, the first read of an unlabelled base's layers.
func openProject(u *ui.UI, path string) (*pipeline.Project, error) {
	p, err := pipeline.Open(path)
	if err != nil {
		return nil, err
	}
	p.ModelProgress = modelProgress(u, p)
	p.BaseProgress = func(total int64) pipeline.Progress {
		return u.NewProgress("reading the base's layers (once: its Python and glibc)", total, true)
	}
	return p, nil
}

// modelProgress reports the download of a Hub model's files: a bar on a
// terminal, plain lines otherwise.
func modelProgress(u *ui.UI, p *pipeline.Project) func(total int64) hub.Progress {
	return func(total int64) hub.Progress {
		return u.NewProgress("downloading "+p.Manifest.Model.Source, total, true)
	}
}

// hubNote is "hf://ORG/NAME@COMMIT12: " for a Hub model, "" otherwise.
func hubNote(p *pipeline.Project) string {
	if p.Lock == nil || p.Lock.HFPack == nil || p.Lock.HFPack.Model == nil {
		return ""
	}
	hm := p.Lock.HFPack.Model
	return fmt.Sprintf("%s@%s: ", hm.Source, hm.Commit[:12])
}

// ModelPin is the Hub model a lock pins, in `hfpack lock --json`.
type ModelPin struct {
	Source   string `json:"source"`
	Revision string `json:"revision"`
	Commit   string `json:"commit"`
	// From is the commit the previous lock pinned, when it moved.
	From  string `json:"from,omitempty"`
	Files int    `json:"files"`
	Size  int64  `json:"size"`
}
