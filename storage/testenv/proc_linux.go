package testenv

import "syscall"

// childAttr makes the kernel kill a child server when the test process
// dies (a timeout, a Ctrl-C), so that no private MariaDB or MinIO is left
// running on a machine shared with other test runs.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
