package templates

import (
	"embed"
	"io/fs"
)

//go:embed worker/hfpack_worker.py
var workerFiles embed.FS

// WorkerScript is the worker's file name inside Worker.
const WorkerScript = "hfpack_worker.py"

// Worker holds the worker's files at its root (just WorkerScript today). The
// builder copies them into the image's worker directory, /opt/hfpack/worker.
var Worker fs.FS = mustSub(workerFiles, "worker")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
