package llb

import "github.com/hfpack/hfpack/builder/llb/install"

// RunInstaller is the body of the hidden `hfpack internal install-wheels`
// subcommand that the site-packages ExecOps run as
// `/hfpack/hfpack internal install-wheels ARGS`: args are everything after
// "install-wheels". It installs the wheels with hfpack's installer into
// --out with fixed modes and times, checking each wheel's sha256.
func RunInstaller(args []string) error { return install.Main(args) }
