package indextest

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readZip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("zip.NewReader: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !f.Modified.Equal(ZipTime) {
			t.Errorf("%s: Modified = %v, want %v", f.Name, f.Modified, ZipTime)
		}
		out[f.Name] = data
	}
	return out
}

func TestBuildWheelDeterministic(t *testing.T) {
	spec := WheelSpec{Name: "Foo.Bar", Version: "1.0", RequiresDist: []string{"numpy>=1"},
		ConsoleScripts: map[string]string{"foo": "foo_bar:main", "bar": "foo_bar:bar"}}
	a, err := BuildWheel(spec)
	if err != nil {
		t.Fatal(err)
	}
	b := MustBuildWheel(spec)
	if !bytes.Equal(a, b) {
		t.Error("BuildWheel gave different bytes for the same spec")
	}
	if got, want := spec.Filename(), "foo_bar-1.0-py3-none-any.whl"; got != want {
		t.Errorf("Filename() = %q, want %q", got, want)
	}
}

func TestBuildWheelRecord(t *testing.T) {
	no := false
	spec := WheelSpec{
		Name: "demo", Version: "2.0", Tag: "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
		RequiresPython: ">=3.9", ProvidesExtra: []string{"gpu"}, RequiresDist: []string{`cupy; extra == "gpu"`},
		ConsoleScripts: map[string]string{"demo": "demo.cli:main"},
		Files:          []WheelFile{{Path: "demo/cli.py", Data: []byte("def main(): pass\n")}},
		Data: []DataFile{
			{Scheme: "scripts", WheelFile: WheelFile{Path: "run", Data: []byte("#!python\nprint(1)\n"), Mode: 0o755}},
			{Scheme: "data", WheelFile: WheelFile{Path: "share/demo.txt", Data: []byte("x")}},
		},
		Purelib: &no,
	}
	files := readZip(t, MustBuildWheel(spec))
	di := "demo-2.0.dist-info/"
	rec := files[di+"RECORD"]
	rows, err := csv.NewReader(bytes.NewReader(rec)).ReadAll()
	if err != nil {
		t.Fatalf("RECORD: %v", err)
	}
	var listed []string
	for _, r := range rows {
		listed = append(listed, r[0])
		if r[0] == di+"RECORD" {
			if r[1] != "" || r[2] != "" {
				t.Errorf("RECORD row for itself = %v", r)
			}
			continue
		}
		if got := RecordHash(files[r[0]]); got != r[1] {
			t.Errorf("RECORD hash of %s = %s, file hashes to %s", r[0], r[1], got)
		}
	}
	want := []string{"demo/__init__.py", "demo/cli.py", "demo-2.0.data/scripts/run", "demo-2.0.data/data/share/demo.txt",
		di + "METADATA", di + "WHEEL", di + "top_level.txt", di + "entry_points.txt", di + "RECORD"}
	if d := cmp.Diff(want, listed); d != "" {
		t.Errorf("RECORD entries (-want +got):\n%s", d)
	}
	wheel := string(files[di+"WHEEL"])
	for _, s := range []string{"Root-Is-Purelib: false", "Tag: cp311-cp311-manylinux_2_17_x86_64", "Tag: cp311-cp311-manylinux2014_x86_64"} {
		if !strings.Contains(wheel, s) {
			t.Errorf("WHEEL lacks %q:\n%s", s, wheel)
		}
	}
	meta := string(files[di+"METADATA"])
	for _, s := range []string{"Name: demo\n", "Requires-Python: >=3.9\n", "Provides-Extra: gpu\n", "Requires-Dist: cupy; extra == \"gpu\"\n"} {
		if !strings.Contains(meta, s) {
			t.Errorf("METADATA lacks %q", s)
		}
	}
	if got := string(files[di+"entry_points.txt"]); got != "[console_scripts]\ndemo = demo.cli:main\n" {
		t.Errorf("entry_points.txt = %q", got)
	}
}

func TestBuildWheelRawHostile(t *testing.T) {
	spec := WheelSpec{Name: "evil", Version: "1", Raw: []WheelFile{{Path: "../escape.txt", Data: []byte("x")}, {Path: "/etc/evil", Data: []byte("y")}}}
	b := MustBuildWheel(spec)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	joined := strings.Join(names, " ")
	if !strings.Contains(joined, "../escape.txt") || !strings.Contains(joined, "/etc/evil") {
		t.Errorf("hostile members missing: %v", names)
	}
	if strings.Contains(string(readRecord(t, b, spec)), "escape") {
		t.Error("raw member listed in RECORD")
	}
}

func readRecord(t *testing.T, b []byte, spec WheelSpec) []byte {
	zr, _ := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	for _, f := range zr.File {
		if f.Name == spec.DistInfo()+"/RECORD" {
			rc, _ := f.Open()
			defer rc.Close()
			d, _ := io.ReadAll(rc)
			return d
		}
	}
	t.Fatal("no RECORD")
	return nil
}
