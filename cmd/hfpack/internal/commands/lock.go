package commands

import (
	"github.com/spf13/cobra"
)

func newLock(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "lock [MANIFEST]",
		Short: "Resolve the manifest's Python requirements into a hashed pylock.toml",
		Args:  usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := loadManifest(args); err != nil {
				return err
			}
			return errNotYet
		},
	}
}
