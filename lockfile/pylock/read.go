package pylock

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// ErrUnsupported is wrapped by errors for a lock this hfpack cannot use: a
// newer lock-version major, or package sources other than wheels.
var ErrUnsupported = errors.New("unsupported lock")

type rawLock struct {
	LockVersion      string                    `toml:"lock-version"`
	Environments     []string                  `toml:"environments"`
	RequiresPython   string                    `toml:"requires-python"`
	Extras           []string                  `toml:"extras"`
	DependencyGroups []string                  `toml:"dependency-groups"`
	DefaultGroups    []string                  `toml:"default-groups"`
	CreatedBy        string                    `toml:"created-by"`
	Packages         *[]rawPackage             `toml:"packages"`
	Tool             map[string]toml.Primitive `toml:"tool"`
}

type rawPackage struct {
	Name           string                    `toml:"name"`
	Version        string                    `toml:"version"`
	Marker         string                    `toml:"marker"`
	RequiresPython string                    `toml:"requires-python"`
	Index          string                    `toml:"index"`
	Wheels         []rawWheel                `toml:"wheels"`
	Dependencies   *[]rawDependency          `toml:"dependencies"`
	Tool           map[string]toml.Primitive `toml:"tool"`
}

// rawDependency identifies another [[packages]] entry (PEP 751): by name,
// and optionally version, which hfpack's one-entry-per-name locks do not
// need.
type rawDependency struct {
	Name    string `toml:"name"`
	Version string `toml:"version"`
}

type rawWheel struct {
	Name       string            `toml:"name"`
	URL        string            `toml:"url"`
	Path       string            `toml:"path"`
	UploadTime *time.Time        `toml:"upload-time"`
	Size       *int64            `toml:"size"`
	Hashes     map[string]string `toml:"hashes"`
}

type rawHFPack struct {
	RequirementsDigest string `toml:"requirements-digest"`
	Python             string `toml:"python"`
	Platform           string `toml:"platform"`
	Glibc              string `toml:"glibc"`
	Model              *struct {
		Source   string   `toml:"source"`
		Revision string   `toml:"revision"`
		Commit   string   `toml:"commit"`
		Include  []string `toml:"include"`
		Exclude  []string `toml:"exclude"`
		Remote   bool     `toml:"trust-remote-code"`
	} `toml:"model"`
	ModelFiles []struct {
		Path   string `toml:"path"`
		Size   int64  `toml:"size"`
		SHA256 string `toml:"sha256"`
	} `toml:"model-files"`
}

// Unmarshal parses and validates a pylock.toml document. Keys the
// specification does not define are errors, except inside [tool] tables;
// package sources other than wheels (sdist, archive, directory, vcs) are
// errors wrapping ErrUnsupported.
func Unmarshal(data []byte) (*Lock, error) {
	var raw rawLock
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw)
	if err != nil {
		return nil, fmt.Errorf("parsing lock: %w", err)
	}
	for _, k := range md.Undecoded() {
		if len(k) > 0 && k[0] == "tool" || len(k) > 1 && k[0] == "packages" && (k[1] == "tool" || k[1] == "attestation-identities") {
			continue // tool tables, and PEP 751 attestation identities (with their keys), which hfpack does not use
		}
		if len(k) == 2 && k[0] == "packages" {
			switch k[1] {
			case "sdist", "archive", "directory", "vcs":
				return nil, fmt.Errorf("parsing lock: %w: packages.%s (hfpack installs wheels only; relock with hfpack lock)", ErrUnsupported, k[1])
			}
		}
		return nil, fmt.Errorf("parsing lock: unknown key %s", k)
	}
	if raw.Packages == nil {
		return nil, errors.New("parsing lock: missing packages")
	}
	l := &Lock{
		LockVersion: raw.LockVersion, Environments: raw.Environments, RequiresPython: raw.RequiresPython,
		Extras: raw.Extras, DependencyGroups: raw.DependencyGroups, DefaultGroups: raw.DefaultGroups,
		CreatedBy: raw.CreatedBy, Packages: []Package{},
	}
	var pinned [][3]string // package, dependency, version
	for _, rp := range *raw.Packages {
		p := Package{Name: rp.Name, Version: rp.Version, Marker: rp.Marker, RequiresPython: rp.RequiresPython, Index: rp.Index}
		if rp.Dependencies != nil {
			p.Dependencies = make([]string, 0, len(*rp.Dependencies))
			for _, d := range *rp.Dependencies {
				if d.Name == "" {
					return nil, fmt.Errorf("parsing lock: package %s: a dependencies entry without name", rp.Name)
				}
				if d.Version != "" {
					pinned = append(pinned, [3]string{rp.Name, d.Name, d.Version})
				}
				p.Dependencies = append(p.Dependencies, d.Name)
			}
		}
		for _, rw := range rp.Wheels {
			w := Wheel{Name: rw.Name, URL: rw.URL, SHA256: rw.Hashes["sha256"]}
			if rw.Path != "" {
				return nil, fmt.Errorf("parsing lock: package %s: %w: wheel by path %q", rp.Name, ErrUnsupported, rw.Path)
			}
			if rw.UploadTime != nil {
				w.UploadTime = rw.UploadTime.UTC()
			}
			if rw.Size != nil {
				w.Size = *rw.Size
			}
			p.Wheels = append(p.Wheels, w)
		}
		l.Packages = append(l.Packages, p)
	}
	for _, d := range pinned {
		if p, ok := l.Package(d[1]); !ok || p.Version != d[2] {
			return nil, fmt.Errorf("parsing lock: package %s: dependency %s version %s is not the locked one", d[0], d[1], d[2])
		}
	}
	if prim, ok := raw.Tool["hfpack"]; ok {
		var rh rawHFPack
		if err := md.PrimitiveDecode(prim, &rh); err != nil {
			return nil, fmt.Errorf("parsing lock: tool.hfpack: %w", err)
		}
		h := &HFPack{RequirementsDigest: rh.RequirementsDigest, Python: rh.Python, Platform: rh.Platform, Glibc: rh.Glibc}
		if rm := rh.Model; rm != nil {
			h.Model = &HubModel{Source: rm.Source, Revision: rm.Revision, Commit: rm.Commit, Include: rm.Include, Exclude: rm.Exclude, TrustRemoteCode: rm.Remote}
		}
		for _, f := range rh.ModelFiles {
			h.ModelFiles = append(h.ModelFiles, ModelFile(f))
		}
		l.HFPack = h
	}
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("parsing lock: %w", err)
	}
	return l, nil
}

// ReadFile reads and validates the lock at path. A missing file gives an
// error wrapping fs.ErrNotExist.
func ReadFile(path string) (*Lock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading lock: %w", err)
	}
	l, err := Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// Validate checks l as hfpack needs it: lock-version 1.x, created-by set,
// and every package named, versioned, unique and with exactly one wheel
// that has a url and a well-formed sha256.
func (l *Lock) Validate() error {
	major, _, _ := strings.Cut(l.LockVersion, ".")
	if l.LockVersion == "" {
		return errors.New("missing lock-version")
	}
	if major != "1" {
		return fmt.Errorf("%w: lock-version %q (hfpack reads 1.x)", ErrUnsupported, l.LockVersion)
	}
	if l.CreatedBy == "" {
		return errors.New("missing created-by")
	}
	seen := map[string]bool{}
	for i, p := range l.Packages {
		if p.Name == "" {
			return fmt.Errorf("packages[%d]: missing name", i)
		}
		n := Normalize(p.Name)
		if seen[n] {
			return fmt.Errorf("package %s: listed twice", n)
		}
		seen[n] = true
		if p.Version == "" {
			return fmt.Errorf("package %s: missing version", n)
		}
		if len(p.Wheels) != 1 {
			return fmt.Errorf("package %s: %d wheels, want exactly one (the one the image installs)", n, len(p.Wheels))
		}
		w := p.Wheels[0]
		switch {
		case w.Name == "":
			return fmt.Errorf("package %s: wheel without name", n)
		case w.URL == "":
			return fmt.Errorf("package %s: wheel %s without url", n, w.Name)
		case !isSHA256(w.SHA256):
			return fmt.Errorf("package %s: wheel %s: missing or malformed hashes.sha256 %q", n, w.Name, w.SHA256)
		case w.Size < 0:
			return fmt.Errorf("package %s: wheel %s: negative size", n, w.Name)
		}
	}
	if h := l.HFPack; h != nil {
		for _, f := range h.ModelFiles {
			if f.Path == "" || !isSHA256(f.SHA256) {
				return fmt.Errorf("tool.hfpack.model-files: entry %q needs a path and a sha256", f.Path)
			}
		}
		if err := h.Model.validate(); err != nil {
			return err
		}
	}
	return nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// validate checks [tool.hfpack.model]: an hf:// source, a revision and a
// full commit id.
func (m *HubModel) validate() error {
	if m == nil {
		return nil
	}
	switch {
	case !strings.HasPrefix(m.Source, "hf://") || len(m.Source) == len("hf://"):
		return fmt.Errorf("tool.hfpack.model: source %q is not hf://ORG/NAME", m.Source)
	case m.Revision == "":
		return errors.New("tool.hfpack.model: missing revision")
	case len(m.Commit) != 40 || strings.Trim(m.Commit, "0123456789abcdef") != "":
		return fmt.Errorf("tool.hfpack.model: commit %q is not a 40-hex commit id", m.Commit)
	}
	return nil
}
