package metadata

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxSize is the largest metadata document Parse accepts.
const MaxSize = 16 << 20

// ErrUnsupportedVersion is returned for a Metadata-Version with a major
// version this package does not understand.
var ErrUnsupportedVersion = errors.New("unsupported metadata version")

// Field is one header line, in file order.
type Field struct {
	// Key is the field name as written, such as "Requires-Dist".
	Key string
	// Value is the value with surrounding space trimmed and continuation
	// lines unfolded (kept as separate lines for Description).
	Value string
}

// Metadata is parsed core metadata.
type Metadata struct {
	// MetadataVersion is the Metadata-Version field, such as "2.1".
	MetadataVersion string
	// Name is the project name as written (not normalised).
	Name string
	// Version is the version string as written.
	Version string
	// Summary is the one-line summary, if any.
	Summary string
	// RequiresPython is the Requires-Python specifier, if any.
	RequiresPython string
	// RequiresDist holds the Requires-Dist requirements in file order.
	RequiresDist []string
	// ProvidesExtra holds the Provides-Extra names in file order.
	ProvidesExtra []string
	// Dynamic holds the Dynamic field names (2.2+).
	Dynamic []string
	// Fields holds every header in file order, including those above.
	Fields []Field
	// Description is the message body (the long description), if any.
	Description string
}

// Get returns the first value of key (case-insensitive) and whether it was
// present.
func (m *Metadata) Get(key string) (string, bool) {
	for _, f := range m.Fields {
		if strings.EqualFold(f.Key, key) {
			return f.Value, true
		}
	}
	return "", false
}

// GetAll returns every value of key (case-insensitive), in file order.
func (m *Metadata) GetAll(key string) []string {
	var out []string
	for _, f := range m.Fields {
		if strings.EqualFold(f.Key, key) {
			out = append(out, f.Value)
		}
	}
	return out
}

// SyntaxError reports a malformed line.
type SyntaxError struct {
	// Line is the 1-based line number.
	Line int
	// Msg says what is wrong with it.
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("metadata line %d: %s", e.Line, e.Msg) }

// Parse parses a core metadata document. It requires Metadata-Version, Name
// and Version, and refuses a Metadata-Version whose major version is above 2.
func Parse(data []byte) (*Metadata, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("parsing metadata: %d bytes exceeds the %d byte limit", len(data), MaxSize)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	fields, body, err := headers(data)
	if err != nil {
		return nil, fmt.Errorf("parsing metadata: %w", err)
	}
	m := &Metadata{Fields: fields, Description: body}
	for _, f := range fields {
		switch strings.ToLower(f.Key) {
		case "metadata-version":
			m.MetadataVersion = f.Value
		case "name":
			m.Name = f.Value
		case "version":
			m.Version = f.Value
		case "summary":
			m.Summary = f.Value
		case "requires-python":
			m.RequiresPython = f.Value
		case "requires-dist":
			m.RequiresDist = append(m.RequiresDist, f.Value)
		case "provides-extra":
			m.ProvidesExtra = append(m.ProvidesExtra, f.Value)
		case "dynamic":
			m.Dynamic = append(m.Dynamic, f.Value)
		case "description":
			if m.Description == "" {
				m.Description = f.Value
			}
		}
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("parsing metadata: %w", err)
	}
	return m, nil
}

func (m *Metadata) check() error {
	switch {
	case m.MetadataVersion == "":
		return errors.New("missing Metadata-Version")
	case m.Name == "":
		return errors.New("missing Name")
	case m.Version == "":
		return errors.New("missing Version")
	}
	major, _, _ := strings.Cut(m.MetadataVersion, ".")
	n, err := strconv.Atoi(major)
	if err != nil || n < 1 {
		return fmt.Errorf("malformed Metadata-Version %q", m.MetadataVersion)
	}
	if n > 2 {
		return fmt.Errorf("%w %s (this hfpack reads 1.0 to 2.x)", ErrUnsupportedVersion, m.MetadataVersion)
	}
	return nil
}

// headers splits data into header fields and the body. Continuation lines
// (starting with a space or tab) extend the previous field; the first empty
// line ends the headers.
func headers(data []byte) ([]Field, string, error) {
	var fields []Field
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			body := strings.Join(lines[i+1:], "\n")
			return fields, strings.TrimRight(body, "\n"), nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(fields) == 0 {
				return nil, "", &SyntaxError{i + 1, "continuation line before any field"}
			}
			last := &fields[len(fields)-1]
			cont := strings.TrimSpace(line)
			switch {
			case strings.EqualFold(last.Key, "description"):
				last.Value += "\n" + cont
			case last.Value == "":
				last.Value = cont
			case cont != "":
				last.Value += " " + cont // unfold
			}
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, "", &SyntaxError{i + 1, "expected \"Key: value\""}
		}
		key = strings.TrimSpace(key)
		if key == "" || strings.ContainsAny(key, " \t") {
			return nil, "", &SyntaxError{i + 1, fmt.Sprintf("malformed field name %q", key)}
		}
		fields = append(fields, Field{Key: key, Value: strings.TrimSpace(value)})
	}
	return fields, "", nil
}
