// Command hfpack-install is the wheel installer of builder/llb as a
// standalone static binary: `hfpack-install internal install-wheels ARGS`.
// The tests mount it into the install ExecOp in place of hfpack itself;
// build it with CGO_ENABLED=0.
package main

import (
	"fmt"
	"os"

	"github.com/hfpack/hfpack/builder/llb/install"
)

func main() {
	args := os.Args[1:]
	if len(args) < 2 || args[0] != "internal" || args[1] != "install-wheels" {
		fmt.Fprintln(os.Stderr, "usage: hfpack-install internal install-wheels --scheme-json JSON --epoch N --out DIR WHEEL#SHA256#FILENAME...")
		os.Exit(2)
	}
	if err := install.Main(args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
