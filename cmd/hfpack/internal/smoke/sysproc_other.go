//go:build !linux

package smoke

import "syscall"

// dieWithParent has no equivalent off Linux, where runc does not run anyway.
func dieWithParent() *syscall.SysProcAttr { return nil }
