//go:build unix

package hubtest

import (
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Usage is what one benchmark child process cost.
type Usage struct {
	Secs   float64 // wall time
	RSSMiB float64 // peak resident set
	CPU    float64 // user + system seconds
}

// RunChild runs this executable again with env (NAME=VALUE) added, its
// stderr to ours, as the benchmarks run each measured download in a
// fresh process, and returns its wall time, peak RSS and CPU time.
func RunChild(env string) (Usage, error) {
	exe, err := os.Executable()
	if err != nil {
		return Usage{}, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return Usage{}, err
	}
	u := Usage{Secs: time.Since(start).Seconds()}
	if ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage); ru != nil {
		u.RSSMiB = float64(ru.Maxrss) / 1024 // KiB on Linux
		u.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	return u, nil
}
