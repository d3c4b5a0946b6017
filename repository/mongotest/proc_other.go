//go:build !linux

package mongotest

import "os/exec"

// processAlive reports true: without a portable check, leftovers of other
// processes are never removed.
func processAlive(int) bool { return true }

// setParentDeathSignal does nothing outside Linux.
func setParentDeathSignal(*exec.Cmd) {}
