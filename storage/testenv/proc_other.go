//go:build !linux

package testenv

import "syscall"

// childAttr: only Linux can tie a child's life to its parent's; elsewhere
// tb.Cleanup alone stops the children.
func childAttr() *syscall.SysProcAttr { return nil }
