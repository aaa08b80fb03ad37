package pylock

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hfpack/hfpack/internal/fsio"
)

// Marshal returns the TOML encoding of l. It validates l first and sorts
// packages, wheels and lists without modifying l.
func Marshal(l *Lock) ([]byte, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	w := &writer{}
	w.kv("lock-version", quote(l.LockVersion))
	if len(l.Environments) > 0 {
		w.kv("environments", stringArray(l.Environments))
	}
	if l.RequiresPython != "" {
		w.kv("requires-python", quote(l.RequiresPython))
	}
	w.kv("extras", stringArray(l.Extras))
	w.kv("dependency-groups", stringArray(l.DependencyGroups))
	w.kv("default-groups", stringArray(l.DefaultGroups))
	w.kv("created-by", quote(l.CreatedBy))

	pkgs := slices.Clone(l.Packages)
	slices.SortStableFunc(pkgs, func(a, b Package) int {
		if c := strings.Compare(Normalize(a.Name), Normalize(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.Version, b.Version)
	})
	if len(pkgs) == 0 {
		w.kv("packages", "[]")
	}
	for _, p := range pkgs {
		w.pkg(p)
	}
	if l.HFPack != nil {
		w.tool(l.HFPack)
	}
	return w.b.Bytes(), nil
}

type writer struct{ b bytes.Buffer }

func (w *writer) kv(key, val string) { fmt.Fprintf(&w.b, "%s = %s\n", key, val) }

func (w *writer) optional(key, val string) {
	if val != "" {
		w.kv(key, quote(val))
	}
}

func (w *writer) pkg(p Package) {
	w.b.WriteString("\n[[packages]]\n")
	w.kv("name", quote(Normalize(p.Name)))
	w.kv("version", quote(p.Version))
	w.optional("marker", p.Marker)
	w.optional("requires-python", p.RequiresPython)
	if p.Dependencies != nil {
		w.kv("dependencies", dependencyArray(p.Dependencies))
	}
	w.optional("index", p.Index)
	wheels := slices.Clone(p.Wheels)
	slices.SortStableFunc(wheels, func(a, b Wheel) int { return strings.Compare(a.Name, b.Name) })
	for _, wh := range wheels {
		w.b.WriteString("\n[[packages.wheels]]\n")
		w.kv("name", quote(wh.Name))
		w.kv("url", quote(wh.URL))
		if !wh.UploadTime.IsZero() {
			w.kv("upload-time", datetime(wh.UploadTime))
		}
		if wh.Size > 0 {
			w.kv("size", strconv.FormatInt(wh.Size, 10))
		}
		w.kv("hashes", "{ sha256 = "+quote(wh.SHA256)+" }")
	}
}

func (w *writer) tool(h *HFPack) {
	w.b.WriteString("\n[tool.hfpack]\n")
	w.optional("requirements-digest", h.RequirementsDigest)
	w.optional("python", h.Python)
	w.optional("platform", h.Platform)
	w.optional("glibc", h.Glibc)
	if m := h.Model; m != nil {
		w.b.WriteString("\n[tool.hfpack.model]\n")
		w.kv("source", quote(m.Source))
		w.kv("revision", quote(m.Revision))
		w.kv("commit", quote(m.Commit))
		if len(m.Include) > 0 {
			w.kv("include", stringArray(m.Include))
		}
		if len(m.Exclude) > 0 {
			w.kv("exclude", stringArray(m.Exclude))
		}
		if m.TrustRemoteCode {
			w.kv("trust-remote-code", "true")
		}
	}
	files := slices.Clone(h.ModelFiles)
	slices.SortStableFunc(files, func(a, b ModelFile) int { return strings.Compare(a.Path, b.Path) })
	for _, f := range files {
		w.b.WriteString("\n[[tool.hfpack.model-files]]\n")
		w.kv("path", quote(f.Path))
		w.kv("size", strconv.FormatInt(f.Size, 10))
		w.kv("sha256", quote(f.SHA256))
	}
}

// WriteFile writes l to path atomically (a temporary file in the same
// directory, then a rename), so a reader never sees half a lock.
func WriteFile(path string, l *Lock) error {
	data, err := Marshal(l)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := fsio.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// dependencyArray writes names as PEP 751 dependency tables, normalised,
// sorted and without duplicates: [{ name = "a" }, { name = "b" }].
func dependencyArray(names []string) string {
	norm := make([]string, len(names))
	for i, n := range names {
		norm[i] = Normalize(n)
	}
	slices.Sort(norm)
	norm = slices.Compact(norm)
	q := make([]string, len(norm))
	for i, n := range norm {
		q[i] = "{ name = " + quote(n) + " }"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func stringArray(ss []string) string {
	s := slices.Clone(ss)
	slices.Sort(s)
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = quote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// datetime formats t as a TOML offset date-time in UTC.
func datetime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.999999999Z07:00")
}

// quote returns s as a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f || r == utf8.RuneError {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
