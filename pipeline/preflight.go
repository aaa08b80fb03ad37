package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/hfpack/hfpack/baseimages"
	"github.com/hfpack/hfpack/builder"
	buildcache "github.com/hfpack/hfpack/builder/cache"
	"github.com/hfpack/hfpack/builder/imports"
	"github.com/hfpack/hfpack/builder/modelcheck"
	"github.com/hfpack/hfpack/imagespec"
)

// PreflightOptions configure Preflight.
type PreflightOptions struct {
	// CacheDir is the root of hfpack's caches; "" means the default.
	CacheDir string
	// FetchWheels downloads every locked wheel even without a handler (a
	// build needs them; check only to read a handler's imports).
	FetchWheels bool
	// Offline lets the import check be skipped, with ImportsSkipped set,
	// when the wheels are not cached and the index is unreachable: check
	// passes on what it could check; a build needs the wheels anyway.
	Offline bool
	// CheckWheels runs builder.CheckWheels: a wheel file that would replace
	// a file of the base, of hfpack's layers or of another wheel is refused
	// (it fetches the wheels, the Python runtime and the base's file list).
	// Offline, wheels or a base that cannot be reached, or a runtime that
	// cannot be downloaded, leave it unrun, with WheelsSkipped set and a
	// warning naming what was not checked.
	CheckWheels bool
	// Logf reports progress lines; nil discards them.
	Logf func(format string, args ...any)
	// Wait is called once if a cache prune holds the caches, which the
	// preflight then waits for (until ctx is done).
	Wait func()
}

// Preflight is what every check a build makes before writing a byte found.
type Preflight struct {
	// SourceDateEpoch is the build's fixed time stamp.
	SourceDateEpoch int64
	// Selection is the base, its Python and environment, and why.
	Selection baseimages.Selection
	// Model is the model directory's report.
	Model *modelcheck.Report
	// CacheRoot is the cache directory used.
	CacheRoot string
	// Wheels are the locked wheels in the cache; nil when not fetched.
	Wheels []builder.Wheel
	// Imports is the handler's import analysis; nil without a handler.
	Imports *imports.Result
	// ImportsSkipped is the network error that kept the import check from
	// running (Offline only).
	ImportsSkipped error
	// WheelsSkipped is why the wheel-file check did not run (Offline only):
	// the wheels, the runtime or the base could not be reached, or the
	// [image] base layout does not exist yet.
	WheelsSkipped error
	// WheelsChecked is set when CheckWheels ran and found no wheel
	// replacing a file of the image.
	WheelsChecked bool
	// AppFiles, Base and Runtime are the build inputs the wheel check
	// prepared (set only when it ran), so a build does not prepare them twice.
	AppFiles []builder.File
	Base     *Base
	Runtime  *builder.Runtime
	// Warnings are problems that do not stop the build: the selection's,
	// the model's, optional imports and a base layout not built yet.
	Warnings []string
}

// Preflight runs, in order, every check `hfpack build` makes before it
// writes anything: the time stamp, the lock's state, the base for the
// accelerator (driver floor, runtime checksum, mirrors and catalogs), the
// model and its pin in the lock, and the handler's imports against the
// locked wheels. `hfpack check` and `hfpack build` both call it, so check
// refuses exactly what build refuses, with the same message. Under Prepare
// (a build), a model file whose hash the cache does not know is checked
// against the lock by NewPlan instead, in the read that makes its layer.
func (p *Project) Preflight(ctx context.Context, o PreflightOptions) (*Preflight, error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	epoch, err := SourceDateEpoch()
	if err != nil {
		return nil, err
	}
	pf := &Preflight{SourceDateEpoch: epoch}
	// Held while the preflight reads cached files: a prune waits.
	held, err := OpenBuildCache(ctx, o.CacheDir, o.Wait)
	if err != nil {
		return nil, err
	}
	defer held.Close()
	if o.CacheDir != "" {
		p.CacheDir = o.CacheDir // where CheckLock hashes the model
	}
	if err := p.CheckLock(); err != nil {
		return nil, err
	}
	if pf.Selection, err = p.SelectBase(); err != nil {
		return nil, err
	}
	pf.Warnings = append(pf.Warnings, pf.Selection.Warnings...)
	if w := p.missingLayout(); w != "" {
		pf.Warnings = append(pf.Warnings, w)
	}
	if pf.CacheRoot, err = CacheRoot(o.CacheDir); err != nil {
		return nil, err
	}
	if _, err := p.FetchModel(ctx, pf.CacheRoot); err != nil { // a Hub model's locked files
		return nil, err
	}
	if pf.Model, err = p.CheckModel(); err != nil {
		return nil, err
	}
	pf.Warnings = append(pf.Warnings, pf.Model.Warnings...)
	if err := p.CheckModelPinned(pf.CacheRoot); err != nil {
		return nil, err
	}
	handler := p.Manifest.HandlerPath()
	if handler == "" && !o.FetchWheels && !o.CheckWheels {
		return pf, nil
	}
	pf.Wheels, err = p.FetchWheels(ctx, pf.CacheRoot, logf)
	var ne net.Error
	if o.Offline && errors.As(err, &ne) {
		pf.Wheels = nil
		if handler != "" {
			pf.ImportsSkipped = err
			pf.Warnings = append(pf.Warnings, fmt.Sprintf("imports of %s not checked: %v", filepath.Base(handler), err))
		}
		if o.CheckWheels {
			pf.WheelsSkipped = err
			pf.Warnings = append(pf.Warnings, fmt.Sprintf("wheel files not checked against the image's files: the locked wheels are not cached and the index is unreachable: %v", err))
		}
		return pf, nil
	}
	if err != nil {
		return nil, err
	}
	if handler != "" {
		if pf.Imports, err = p.CheckImports(pf.Wheels, pf.CacheRoot); err != nil {
			return nil, err
		}
		for _, o := range pf.Imports.Optional {
			pf.Warnings = append(pf.Warnings, fmt.Sprintf("%s:%d: optional import %q is not provided by the lock (guarded by except ImportError)", o.File, o.Line, o.Module))
		}
	}
	if o.CheckWheels {
		if err := p.checkWheels(ctx, pf, held, o.Offline, logf); err != nil {
			return nil, err
		}
	}
	return pf, nil
}

// checkWheels installs the locked wheels into a scratch tree against the
// image's other files, as both builders will (builder.CheckWheels), before
// anything is built: a wheel file that would replace a file of the base,
// of hfpack's layers or of another wheel is refused, naming both. It
// prepares the build inputs it needs (app files, base, runtime) into pf.
// Offline, a base that cannot be reached, a runtime that cannot be
// downloaded, or a base layout not built yet leaves the check unrun with a
// warning saying so. c is the build cache the preflight holds.
func (p *Project) checkWheels(ctx context.Context, pf *Preflight, c *buildcache.Cache, offline bool, logf func(string, ...any)) error {
	skip := func(what string, err error) error {
		var ne net.Error
		if !offline || !errors.As(err, &ne) {
			return err
		}
		pf.WheelsSkipped = err
		pf.Warnings = append(pf.Warnings, fmt.Sprintf("wheel files not checked against the image's files: %s: %v", what, err))
		return nil
	}
	if w := p.missingLayout(); w != "" && offline {
		pf.WheelsSkipped = errors.New(w)
		pf.Warnings = append(pf.Warnings, "wheel files not checked against the base's files: "+w)
		return nil
	}
	sel, root := pf.Selection, pf.CacheRoot
	app, err := p.AppFiles(root, sel, pf.Imports)
	if err != nil {
		return err
	}
	base, err := p.Base(sel)
	if err != nil {
		return err
	}
	rt, err := Runtime(ctx, root, sel, logf)
	if err != nil {
		if offline {
			// Downloading the runtime is the build's step, not one of its
			// refusals: check says what it could not check instead.
			pf.WheelsSkipped = err
			pf.Warnings = append(pf.Warnings, fmt.Sprintf("wheel files not checked against the image's files: %v", err))
			return nil
		}
		return err
	}
	plan, err := builder.PlanLayers(builder.Inputs{
		Runtime:         rt,
		Name:            p.Manifest.Name,
		Base:            base.Input,
		Wheels:          pf.Wheels,
		ModelDir:        p.ModelDir(),
		AppFiles:        app,
		SourceDateEpoch: pf.SourceDateEpoch,
	})
	if err != nil {
		return err
	}
	warnings, err := builder.CheckWheels(ctx, plan, base.Image, c) // c: the base's remembered file lists
	pf.Warnings = append(pf.Warnings, warnings...)
	if err != nil {
		return skip("the base image cannot be read", err)
	}
	pf.WheelsChecked = true
	pf.AppFiles, pf.Base, pf.Runtime = app, &base, rt
	return nil
}

// missingLayout warns about an [image] base OCI layout that does not exist
// yet: a pipeline step (or the demo) may create it between check and build,
// so check says so instead of refusing.
func (p *Project) missingLayout() string {
	lr, ok := imagespec.ParseLayoutRef(p.Manifest.Image.Base)
	if !ok {
		return ""
	}
	dir := lr.In(p.Manifest.Dir).Dir
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
		return ""
	}
	return fmt.Sprintf("the [image] base layout %s does not exist yet: build refuses until it does", dir)
}
