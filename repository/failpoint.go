package repository

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// Failpoints stop the process at a step of the write protocol, so crash
// tests can check repair. MATCARE_FAILPOINT="<step>" or "<step>@<n>"
// (the n-th time the step is reached, default 1) makes the process exit
// with status 86 right after that step, as abruptly as a SIGKILL: no
// deferred function runs. The steps of a transaction are those of the
// journal protocol (Commit without server transactions, txn.go); those
// taken once per write count each write: "after-txn-claim@2" stops after
// the second claim.
const (
	afterClaim   = "after-claim"   // history entry inserted as pending
	afterCurrent = "after-current" // current document replaced
	afterCommit  = "after-commit"  // history entry marked committed

	afterJournal     = "after-journal"     // transaction's journal entry inserted
	afterTxnClaim    = "after-txn-claim"   // one write's history entry claimed
	afterPend        = "after-pend"        // one current document marked pend (or placeholder inserted)
	afterTxnSlot     = "after-txn-slot"    // commit slot taken
	afterTxnCommit   = "after-txn-commit"  // outcome inserted as committed: the commit point
	afterRollforward = "after-rollforward" // one current document replaced, its entry marked committed
	afterTxnDone     = "after-txn-done"    // journal entry deleted
)

// failpointSteps are the steps a failpoint may name.
var failpointSteps = []string{afterClaim, afterCurrent, afterCommit,
	afterJournal, afterTxnClaim, afterPend, afterTxnSlot, afterTxnCommit, afterRollforward, afterTxnDone}

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
	if !slices.Contains(failpointSteps, step) {
		return nil, fmt.Errorf("failpoint %q: step must be one of %s", s, strings.Join(failpointSteps, ", "))
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
