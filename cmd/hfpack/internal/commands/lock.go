package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"

	"github.com/spf13/cobra"

	"github.com/hfpack/hfpack/cmd/hfpack/internal/ui"
	"github.com/hfpack/hfpack/lockfile"
	"github.com/hfpack/hfpack/lockfile/index"
	"github.com/hfpack/hfpack/lockfile/pylock"
	"github.com/hfpack/hfpack/pipeline"
)

// LockReport is what `hfpack lock` did; `--json` prints it.
type LockReport struct {
	// Lock is the lock file's path.
	Lock string `json:"lock"`
	// Target describes the environment the lock was resolved for.
	Target string `json:"target"`
	// Packages is the number of locked packages.
	Packages int `json:"packages"`
	// Changes are the packages whose versions moved.
	Changes []lockfile.Change `json:"changes"`
	// Written is false when the lock was already up to date.
	Written bool `json:"written"`
	// Checked is true for --check, which resolves nothing.
	Checked bool `json:"checked,omitempty"`
	// Model is the Hub model the lock pins, if any.
	Model *ModelPin `json:"model,omitempty"`
}

type lockFlags struct {
	upgrade      bool
	upgradeModel bool
	packages     []string
	check        bool
	cacheDir     string
}

func newLock(g *globals) *cobra.Command {
	f := &lockFlags{}
	cmd := &cobra.Command{
		Use:   "lock [MANIFEST]",
		Short: "Resolve the manifest's Python requirements into a hashed pylock.toml",
		Long: `lock resolves the manifest's [python] requirements for the image's target
(CPython of python.version on linux x86_64, the base's glibc) and writes
pylock.toml beside the manifest: one wheel per package with its URL, sha256,
size, upload time and index (PEP 751). Versions already in the lock are kept
where they still satisfy the requirements; --upgrade and --upgrade-package
move them on purpose. Locking twice gives identical bytes.

A Hub model (model.source = "hf://ORG/NAME") is pinned too: its revision is
resolved to a commit, and every selected file is recorded with its size and
sha256 in [tool.hfpack.model] and [[tool.hfpack.model-files]]. A branch that
moves later is not followed: lock keeps the pinned commit until
--upgrade-model moves it to the commit the revision points at now. The small
files the Hub keeps in git, which lock downloads to hash, stay in the cache
(by content) for later locks and the build.

With --check nothing is resolved and nothing is fetched: lock exits 1 when
pylock.toml is missing, was resolved from other requirements, does not
verify (an entry whose name or version is not its wheel's, a package missing
or not needed by the requirements and the recorded dependency graph, a
target, marker or index that does not match), or when a model file differs
from the one pinned. check and build run the same verification.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.check && (f.upgrade || len(f.packages) > 0 || f.upgradeModel) {
				return usageError{errors.New("--check resolves nothing: it cannot be combined with --upgrade, --upgrade-package or --upgrade-model")}
			}
			p, err := openProject(g.ui, manifestArg(args))
			if err != nil {
				return err
			}
			if f.check {
				p.CacheDir = f.cacheDir
				return runLockCheck(cmd.Context(), g, p)
			}
			if f.upgradeModel && p.Manifest.Model.Source == "" {
				return usageError{fmt.Errorf("--upgrade-model: %s serves a local model directory; it applies to a Hub model (model.source)", p.Manifest.File)}
			}
			return runLock(cmd, g, p, f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&f.upgrade, "upgrade", "U", false, "move every package to the newest version allowed")
	fl.StringArrayVarP(&f.packages, "upgrade-package", "P", nil, "move this package to the newest version allowed (repeatable)")
	fl.BoolVar(&f.upgradeModel, "upgrade-model", false, "move the Hub model to the commit its revision points at now")
	fl.BoolVar(&f.check, "check", false, "exit 1 if the lock is missing, stale or does not verify; resolve nothing")
	fl.StringVar(&f.cacheDir, "cache-dir", "", "cache directory for index pages, metadata, model hashes and Hub files (default $HFPACK_CACHE_DIR or the user cache dir)")
	return cmd
}

func runLockCheck(ctx context.Context, g *globals, p *pipeline.Project) error {
	c, err := holdCaches(ctx, g, p.CacheDir) // the model's hash records
	if err != nil {
		return err
	}
	defer c.Close()
	if err := p.CheckLock(); err != nil {
		return err
	}
	g.ui.Infof("%s is up to date with %s", p.RelLock(), p.Manifest.File)
	r := &LockReport{Lock: p.RelLock(), Packages: len(p.Lock.Packages), Changes: []lockfile.Change{}, Checked: true, Model: modelPin(nil, p.Lock)}
	if h := p.Lock.HFPack; h != nil {
		r.Target = fmt.Sprintf("CPython %s, %s", h.Python, h.Platform)
	}
	return g.ui.Result(r, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, r.Lock)
		return err
	})
}

func runLock(cmd *cobra.Command, g *globals, p *pipeline.Project, f *lockFlags) error {
	// A lock's heap is small (index pages and metadata) and lives for the
	// whole command: at the default GOGC=100 a warm lock spends a fifth of
	// its CPU collecting it again and again. Unless GOGC says otherwise,
	// let it grow to five times what is live before each collection.
	if _, set := os.LookupEnv("GOGC"); !set {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	target := p.Target()
	m := p.Manifest
	g.ui.Infof("Resolving %s of %s for %s from %s", plural(len(m.Python.Requirements), "requirement"), m.File, target, index.Redact(m.Python.IndexURL))
	hasher, err := holdCaches(cmd.Context(), g, f.cacheDir)
	if err != nil {
		return err
	}
	defer hasher.Close()
	if src := m.Model.Source; src != "" {
		g.ui.Infof("Resolving model %s at %s", src, m.Model.Revision)
	}
	prev := p.Lock
	prog := newProjectProgress(g.ui, p)
	res, err := p.Relock(cmd.Context(),
		lockfile.WithUpgradeModel(f.upgradeModel),
		lockfile.WithCacheDir(f.cacheDir),
		lockfile.WithModelHasher(hasher),
		lockfile.WithUpgrade(f.upgrade),
		lockfile.WithUpgradePackages(f.packages...),
		lockfile.WithProgress(prog.add),
		lockfile.WithWarnings(func(msg string) { g.ui.Warnf("%s", msg) }))
	prog.done()
	if err != nil {
		return err
	}
	for _, c := range res.Changes {
		switch c.Kind() {
		case "added":
			g.ui.Infof("  + %s %s", c.Name, c.To)
		case "removed":
			g.ui.Infof("  - %s %s", c.Name, c.From)
		default:
			g.ui.Infof("  ~ %s %s -> %s (%s)", c.Name, c.From, c.To, c.Kind())
		}
	}
	pin := modelPin(prev, res.Lock)
	if pin != nil {
		if pin.From != "" {
			g.ui.Infof("  ~ model %s %s -> %s", pin.Source, pin.From[:12], pin.Commit[:12])
		}
		g.ui.Infof("Pinned %s at %s (%s): %s, %s", pin.Source, pin.Revision, pin.Commit, plural(pin.Files, "file"), ui.HumanBytes(pin.Size))
	}
	if res.Written {
		g.ui.Infof("Locked %s in %s", plural(len(res.Lock.Packages), "package"), p.RelLock())
	} else {
		g.ui.Infof("%s is up to date (%s)", p.RelLock(), plural(len(res.Lock.Packages), "package"))
	}
	r := &LockReport{Lock: p.RelLock(), Target: target.String(), Packages: len(res.Lock.Packages), Changes: res.Changes, Written: res.Written, Model: pin}
	if r.Changes == nil {
		r.Changes = []lockfile.Change{}
	}
	return g.ui.Result(r, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, r.Lock)
		return err
	})
}

// projectProgress counts index pages read, on a terminal only: the count
// of projects is not known in advance, and CI logs need no spinner.
type projectProgress struct {
	once sync.Once
	mk   func() ui.Progress
	p    ui.Progress
	mu   sync.Mutex
}

func newProjectProgress(u *ui.UI, p *pipeline.Project) *projectProgress {
	total := int64(-1)
	if p.Lock != nil && len(p.Lock.Packages) > 0 {
		total = int64(len(p.Lock.Packages))
	}
	pp := &projectProgress{}
	if u.TTY {
		pp.mk = func() ui.Progress { return u.NewProgress("reading index pages", total, false) }
	}
	return pp
}

func (pp *projectProgress) add(string) {
	if pp.mk == nil {
		return
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	pp.once.Do(func() { pp.p = pp.mk() })
	pp.p.Add(1)
}

func (pp *projectProgress) done() {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.p != nil {
		pp.p.Done()
	}
}

// plural is "1 package", "2 packages".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// modelPin is the Hub model next pins (nil for none), with the commit prev
// pinned when it moved.
func modelPin(prev, next *pylock.Lock) *ModelPin {
	if next == nil || next.HFPack == nil || next.HFPack.Model == nil {
		return nil
	}
	hm := next.HFPack.Model
	pin := &ModelPin{Source: hm.Source, Revision: hm.Revision, Commit: hm.Commit, Files: len(next.HFPack.ModelFiles)}
	for _, f := range next.HFPack.ModelFiles {
		pin.Size += f.Size
	}
	if prev != nil && prev.HFPack != nil && prev.HFPack.Model != nil && prev.HFPack.Model.Source == hm.Source && prev.HFPack.Model.Commit != hm.Commit {
		pin.From = prev.HFPack.Model.Commit
	}
	return pin
}
