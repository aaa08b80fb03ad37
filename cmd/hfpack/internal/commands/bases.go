package commands

import (
	"github.com/spf13/cobra"
)

func newBases(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "bases [MANIFEST]",
		Short: "Print the base image catalog, or the base chosen for a manifest and why",
		Args:  usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return errNotYet
		},
	}
}
