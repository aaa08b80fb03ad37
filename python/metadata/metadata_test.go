package metadata

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Metadata
	}{{
		name: "2.1 with body",
		in: "Metadata-Version: 2.1\nName: Foo.Bar\nVersion: 1.0rc1\nSummary: a thing\nRequires-Python: >=3.8\n" +
			"Provides-Extra: gpu\nRequires-Dist: numpy>=1.20\nRequires-Dist: cupy; extra == \"gpu\"\n\nLong\ndescription\n",
		want: &Metadata{MetadataVersion: "2.1", Name: "Foo.Bar", Version: "1.0rc1", Summary: "a thing", RequiresPython: ">=3.8",
			ProvidesExtra: []string{"gpu"}, RequiresDist: []string{"numpy>=1.20", `cupy; extra == "gpu"`}, Description: "Long\ndescription"},
	}, {
		name: "1.0 with folded description and CRLF",
		in:   "Metadata-Version: 1.0\r\nName: old\r\nVersion: 0.1\r\nDescription: line one\r\n        |line two\r\n",
		want: &Metadata{MetadataVersion: "1.0", Name: "old", Version: "0.1", Description: "line one\n|line two"},
	}, {
		name: "folded requirement",
		in:   "Metadata-Version: 2.4\nName: x\nVersion: 1\nRequires-Dist: a;\n   python_version < \"3.10\"\nDynamic: license\n",
		want: &Metadata{MetadataVersion: "2.4", Name: "x", Version: "1", RequiresDist: []string{`a; python_version < "3.10"`}, Dynamic: []string{"license"}},
	}, {
		name: "BOM and case-insensitive keys",
		in:   "\ufeffmetadata-version: 2.2\nNAME: y\nversion:2\n",
		want: &Metadata{MetadataVersion: "2.2", Name: "y", Version: "2"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if d := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Metadata{}, "Fields")); d != "" {
				t.Errorf("Parse (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		is   error
	}{
		{"no version", "Metadata-Version: 2.1\nName: x\n", nil},
		{"no name", "Metadata-Version: 2.1\nVersion: 1\n", nil},
		{"future major", "Metadata-Version: 3.0\nName: x\nVersion: 1\n", ErrUnsupportedVersion},
		{"garbage version", "Metadata-Version: two\nName: x\nVersion: 1\n", nil},
		{"no colon", "Metadata-Version: 2.1\nName x\nVersion: 1\n", nil},
		{"leading continuation", " Name: x\n", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatal("Parse succeeded, want error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Parse error = %v, want %v", err, tt.is)
			}
		})
	}
}

func TestGetAll(t *testing.T) {
	m, err := Parse([]byte("Metadata-Version: 2.1\nName: x\nVersion: 1\nClassifier: A\nClassifier: B\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"A", "B"}, m.GetAll("classifier")); d != "" {
		t.Errorf("GetAll (-want +got):\n%s", d)
	}
	if v, ok := m.Get("NAME"); !ok || v != "x" {
		t.Errorf("Get(NAME) = %q, %t", v, ok)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Metadata-Version: 2.1\nName: x\nVersion: 1\n\nbody",
		"Metadata-Version: 2.1\r\nName: x\r\nVersion: 1\r\nRequires-Dist: a\r\n  ; extra == 'b'\r\n",
		" \n:\n\n",
		"\ufeff\ufeffName: x",
		"Metadata-Version: 99999999999999999999.0\nName: x\nVersion: 1\n",
		"Metadata-Version: 2.1\nName: \x00\nVersion: \xff\xfe\n",
		"Key:" + string(make([]byte, 1000)),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		if m.Name == "" || m.Version == "" || m.MetadataVersion == "" {
			t.Errorf("Parse accepted metadata without required fields: %+v", m)
		}
	})
}
