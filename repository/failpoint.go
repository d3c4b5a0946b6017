package repository

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// Failpoints stop the process at a step of the write protocol, so crash
// tests can check repair. MATCARE_FAILPOINT="<step>" or "<step>@<n>"
// (the n-th time the step is reached, default 1) makes the process exit
// with status 86 right after that step, as abruptly as a SIGKILL: no
// deferred function runs.
const (
	afterClaim   = "after-claim"   // history entry inserted as pending
	afterCurrent = "after-current" // current document replaced
	afterCommit  = "after-commit"  // history entry marked committed
)

// FailpointExitCode is the exit status of a process stopped by a failpoint.
const FailpointExitCode = 86

type failpoint struct {
	step string
	n    int64
	hits atomic.Int64
	exit func() // os.Exit by default; tests of this package replace it
}

func parseFailpoint(s string) (*failpoint, error) {
	if s == "" {
		return nil, nil
	}
	step, count, _ := strings.Cut(s, "@")
	switch step {
	case afterClaim, afterCurrent, afterCommit:
	default:
		return nil, fmt.Errorf("failpoint %q: step must be %s, %s or %s", s, afterClaim, afterCurrent, afterCommit)
	}
	n := int64(1)
	if count != "" {
		var err error
		if n, err = strconv.ParseInt(count, 10, 64); err != nil || n < 1 {
			return nil, fmt.Errorf("failpoint %q: count must be a positive integer", s)
		}
	}
	return &failpoint{step: step, n: n, exit: func() { os.Exit(FailpointExitCode) }}, nil
}

// reached is called after each step.
func (f *failpoint) reached(step string) {
	if f == nil || f.step != step {
		return
	}
	if f.hits.Add(1) == f.n {
		f.exit()
	}
}
