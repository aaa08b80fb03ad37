package accelerators

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

// FS holds data/accelerators.json, the table in the base catalog's format
// ({"accelerators": [...]}, sorted by name); package baseimages loads it
// with its other tables.
//
//go:embed data/accelerators.json
var FS embed.FS

var table = sync.OnceValue(func() []Accelerator {
	b, err := FS.ReadFile("data/accelerators.json")
	if err != nil {
		panic(err)
	}
	var t struct {
		Accelerators []Accelerator `json:"accelerators"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		panic(fmt.Sprintf("accelerators: embedded table: %v", err))
	}
	return t.Accelerators
})

// All returns the embedded table, sorted by name, retired accelerators
// included; CPU is not a row.
func All() []Accelerator { return slices.Clone(table()) }

// Names returns the sorted Vertex accelerator enum names of the table plus
// "cpu", retired ones included (Lookup marks them).
func Names() []string {
	names := []string{CPU}
	for _, a := range table() {
		names = append(names, a.Name)
	}
	slices.Sort(names)
	return names
}

// Lookup finds an accelerator by its Vertex enum name, or "cpu".
func Lookup(name string) (Accelerator, bool) {
	if name == CPU {
		return CPUAccelerator, true
	}
	for _, a := range table() {
		if a.Name == name {
			return a, true
		}
	}
	return Accelerator{}, false
}
