package smoke

import "syscall"

// dieWithParent makes runc (and so the container) die with hfpack, so an
// interrupted smoke test leaves nothing running.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
