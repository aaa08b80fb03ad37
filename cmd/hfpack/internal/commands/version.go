package commands

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version describes the running hfpack binary, read from its build info.
type Version struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

// ReadVersion returns the module version, VCS commit and Go version recorded
// by the Go toolchain in the binary; nothing is hand-edited.
func ReadVersion() Version {
	v := Version{Module: "github.com/hfpack/hfpack", Version: "(devel)"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.Go = bi.GoVersion
	if bi.Main.Path != "" {
		v.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is the version as labels and the version command print it.
func (v Version) String() string {
	s := v.Version
	if v.Commit != "" {
		c := v.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += " (" + c
		if v.Modified {
			s += "+dirty"
		}
		s += ")"
	}
	return s
}

func newVersion(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print hfpack's version, commit and Go version",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			v := ReadVersion()
			return g.ui.Result(v, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "hfpack %s %s %s\n", v.Version, v.Commit, v.Go)
				return err
			})
		},
	}
}
