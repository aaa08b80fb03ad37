package commands

import (
	"errors"

	"github.com/spf13/cobra"
)

// errNotYet marks a command whose backend has not landed.
var errNotYet = errors.New("not implemented yet")

func newBuild(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "build [MANIFEST]",
		Short: "Build the serving image from the manifest and its lock",
		Args:  usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := loadManifest(args); err != nil {
				return err
			}
			return errNotYet
		},
	}
}
