package commands

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/hfpack/hfpack/pipeline"
)

func newBases(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "bases [MANIFEST]",
		Short: "Print the base image catalog, or the base chosen for a manifest and why",
		Long: `Without a manifest, bases prints hfpack's catalog of base images, pinned by
digest, with the accelerators, CUDA toolkits and torch builds it knows, plus
the rows of the catalog files HFPACK_CATALOG names. With a manifest (and its
lock), it prints the base chosen for it and the reasons (the catalog file and
mirror each choice came from included), or why no base can run the lock on
the manifest's accelerator.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				cat, err := pipeline.LoadCatalog("")
				if err != nil {
					return err
				}
				if g.ui.JSON {
					return cat.WriteJSON(g.ui.Out)
				}
				return cat.WriteTable(g.ui.Out)
			}
			p, err := openProject(g.ui, args[0])
			if err != nil {
				return err
			}
			c, err := holdCaches(cmd.Context(), g, p.CacheDir) // the lock's check reads the model's hash records
			if err != nil {
				return err
			}
			defer c.Close()
			sel, err := p.SelectBase()
			if err != nil {
				return err
			}
			return g.ui.Result(sel, func(w io.Writer) error { return sel.WriteText(w) })
		},
	}
}
