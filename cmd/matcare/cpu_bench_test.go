package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/matcare/matcare/repository/mongotest"
)

// BenchmarkProcessCPU measures matcare's own CPU time per request: the
// server runs as a child process and storage (FerretDB) in another, so
// the child's user+system time (from /proc) is matcare's alone, without
// the client or the database.
func BenchmarkProcessCPU(b *testing.B) {
	uri := mongotest.StartExternal(b)
	c := startChild(b, "MONGODB_URI="+uri, "MATCARE_DB=cpu")
	ctx := context.Background()
	var ids []string
	for i := range 200 {
		st, body, _, err := call(ctx, c.token, "POST", c.base+"/Goal", goalJSON("x", fmt.Sprint(i)))
		if err != nil || st != http.StatusCreated {
			b.Fatalf("seed: %d %v", st, err)
		}
		var r struct{ ID string }
		json.Unmarshal(body, &r)
		ids = append(ids, r.ID)
	}
	b.Run("read", func(b *testing.B) {
		before := cpuTicks(b, c.cmd.Process.Pid)
		i := 0
		for b.Loop() {
			i++
			if st, _, _, err := call(ctx, c.token, "GET", c.base+"/Goal/"+ids[i%len(ids)], ""); err != nil || st != http.StatusOK {
				b.Fatalf("read: %d %v", st, err)
			}
		}
		reportCPU(b, cpuTicks(b, c.cmd.Process.Pid)-before)
	})
	b.Run("create", func(b *testing.B) {
		before := cpuTicks(b, c.cmd.Process.Pid)
		for b.Loop() {
			if st, _, _, err := call(ctx, c.token, "POST", c.base+"/Goal", goalJSON("x", "bench"), "Prefer", "return=minimal"); err != nil || st != http.StatusCreated {
				b.Fatalf("create: %d %v", st, err)
			}
		}
		reportCPU(b, cpuTicks(b, c.cmd.Process.Pid)-before)
	})
}

// cpuTicks is a process's user+system CPU time in clock ticks (1/100 s).
func cpuTicks(b *testing.B, pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Skipf("no /proc here: %v", err) // only Linux has it
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return utime + stime
}

func reportCPU(b *testing.B, ticks int64) {
	b.ReportMetric(float64(ticks)*1e4/float64(b.N), "cpu-µs/op")
}
