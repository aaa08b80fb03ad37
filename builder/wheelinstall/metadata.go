package wheelinstall

import (
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// headers parses RFC 822 style headers (WHEEL, METADATA) up to the first
// blank line. Keys are matched case-insensitively; the first value wins.
func headers(text string) map[string]string {
	h := map[string]string{}
	last := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last != "" {
				h[last] += "\n" + strings.TrimSpace(line)
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			last = ""
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		last = ""
		if _, seen := h[k]; !seen {
			h[k] = strings.TrimSpace(v)
			last = k
		}
	}
	return h
}

// wheelInfo is what hfpack uses of the WHEEL file.
type wheelInfo struct {
	rootIsPurelib bool
}

func parseWHEEL(text string) (wheelInfo, error) {
	h := headers(text)
	v, ok := h["wheel-version"]
	if !ok {
		return wheelInfo{}, fmt.Errorf("%w: WHEEL has no Wheel-Version", ErrInvalidWheel)
	}
	major, _, _ := strings.Cut(v, ".")
	m, err := strconv.Atoi(major)
	if err != nil || m < 0 {
		return wheelInfo{}, fmt.Errorf("%w: invalid Wheel-Version %q", ErrInvalidWheel, v)
	}
	if m > 1 {
		return wheelInfo{}, fmt.Errorf("%w: Wheel-Version %s (hfpack installs 1.x)", ErrUnsupported, v)
	}
	return wheelInfo{rootIsPurelib: strings.EqualFold(h["root-is-purelib"], "true")}, nil
}

// record is one line of a wheel's RECORD that hfpack can use.
type record struct {
	sha256 []byte // nil when absent or another algorithm
	size   int64  // -1 when absent
}

func parseRECORD(text string) (map[string]record, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true // as lenient as Python's csv module
	r.ReuseRecord = true
	out := map[string]record{}
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: RECORD: %v", ErrInvalidWheel, err)
		}
		if len(row) == 1 && row[0] == "" {
			continue
		}
		if len(row) != 3 {
			return nil, fmt.Errorf("%w: RECORD line %q: want path,hash,size", ErrInvalidWheel, strings.Join(row, ","))
		}
		rec := record{size: -1}
		if algo, digest, ok := strings.Cut(row[1], "="); ok && algo == "sha256" {
			b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(digest, "="))
			if err != nil || len(b) != 32 {
				return nil, fmt.Errorf("%w: RECORD line for %q: malformed sha256 %q", ErrInvalidWheel, row[0], digest)
			}
			rec.sha256 = b
		}
		if row[2] != "" {
			n, err := strconv.ParseInt(row[2], 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%w: RECORD line for %q: malformed size %q", ErrInvalidWheel, row[0], row[2])
			}
			rec.size = n
		}
		if old, dup := out[row[0]]; dup && (old.size != rec.size || string(old.sha256) != string(rec.sha256)) {
			return nil, fmt.Errorf("%w: RECORD lists %q twice with different hashes", ErrInvalidWheel, row[0])
		}
		out[row[0]] = rec
	}
}

// entryPoint is one console_scripts or gui_scripts entry.
type entryPoint struct {
	name   string
	module string // "pkg.cli"
	attr   string // "main" or "Cls.method"
	gui    bool
}

// Compiled on first use: their Unicode classes cost every hfpack command
// (lock and check included) a millisecond or two at start otherwise.
var (
	scriptNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\p{L}\p{N}_.+-]+$`) })
	objectRefRE  = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^([\p{L}\p{N}_]+(?:\.[\p{L}\p{N}_]+)*)\s*:\s*([\p{L}\p{N}_]+(?:\.[\p{L}\p{N}_]+)*)\s*(?:\[[^\]]*\])?$`)
	})
)

// parseEntryPoints reads the script sections of entry_points.txt the way
// importlib.metadata does. A later duplicate replaces an earlier one, and a
// gui script replaces a console script of the same name, as pip's generation
// order does. The result is sorted by name.
func parseEntryPoints(text string) ([]entryPoint, error) {
	byName := map[string]entryPoint{}
	section := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.Trim(line, "[]")
			continue
		}
		if section != "console_scripts" && section != "gui_scripts" {
			continue
		}
		ep, err := parseEntryPoint(section, line)
		if err != nil {
			return nil, err
		}
		if old, ok := byName[ep.name]; ok && old.gui && !ep.gui {
			continue
		}
		byName[ep.name] = ep
	}
	out := make([]entryPoint, 0, len(byName))
	for _, ep := range byName {
		out = append(out, ep)
	}
	slices.SortFunc(out, func(a, b entryPoint) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

func parseEntryPoint(section, line string) (entryPoint, error) {
	name, value, ok := strings.Cut(line, "=")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok {
		return entryPoint{}, fmt.Errorf("%w: entry_points.txt [%s] line %q: want name = module:attr", ErrInvalidWheel, section, line)
	}
	if !scriptNameRE().MatchString(name) || name == "." || name == ".." {
		return entryPoint{}, fmt.Errorf("%w: entry_points.txt [%s]: script name %q is not a plain file name", ErrUnsafeMember, section, name)
	}
	m := objectRefRE().FindStringSubmatch(value)
	if m == nil {
		return entryPoint{}, fmt.Errorf("%w: entry_points.txt [%s]: %s = %q: want module:attr (a callable suffix is required)", ErrInvalidWheel, section, name, value)
	}
	return entryPoint{name: name, module: m[1], attr: m[2], gui: section == "gui_scripts"}, nil
}

// canonicalName normalises a project name as PEP 503 does.
func canonicalName(s string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(s) {
		if r == '-' || r == '_' || r == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteRune(r)
	}
	return b.String()
}

var (
	pipVersionedRE  = regexp.MustCompile(`^pip(\d+(\.\d+)?)?$`)
	easyVersionedRE = regexp.MustCompile(`^easy_install(-\d+\.\d+)?$`)
)

// versionedWrappers renames the versioned console scripts of pip and
// easy_install for Python pyver ("3.11") the way pip's
// get_console_script_specs does: pip gets pip, pipX and pipX.Y, easy_install
// gets easy_install and easy_install-X.Y, and the wheel's own versioned
// entries for them are dropped. The result is sorted by name.
func versionedWrappers(eps []entryPoint, pyver string) []entryPoint {
	if pyver == "" {
		return eps
	}
	major, _, _ := strings.Cut(pyver, ".")
	byName := map[string]entryPoint{}
	var pip, easy *entryPoint
	for _, ep := range eps {
		byName[ep.name] = ep
		if ep.gui {
			continue
		}
		switch ep.name {
		case "pip":
			pip = &ep
		case "easy_install":
			easy = &ep
		}
	}
	rename := func(base *entryPoint, drop *regexp.Regexp, names ...string) {
		for n, ep := range byName {
			if !ep.gui && drop.MatchString(n) {
				delete(byName, n)
			}
		}
		for _, n := range names {
			ep := *base
			ep.name = n
			byName[n] = ep
		}
	}
	if pip != nil {
		rename(pip, pipVersionedRE, "pip", "pip"+major, "pip"+pyver)
	}
	if easy != nil {
		rename(easy, easyVersionedRE, "easy_install", "easy_install-"+pyver)
	}
	out := make([]entryPoint, 0, len(byName))
	for _, ep := range byName {
		out = append(out, ep)
	}
	slices.SortFunc(out, func(a, b entryPoint) int { return strings.Compare(a.name, b.name) })
	return out
}
