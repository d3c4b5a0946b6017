package repository

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/matcare/matcare/service"
)

// BenchmarkCommit times Commit of 1, 5 and 20 updates (FerretDB: the
// journal protocol), beside Put, on a collection of 200 Goals.
func BenchmarkCommit(b *testing.B) {
	s := openStore(b, Options{})
	ctx := context.Background()
	const n = 200
	vs := make([]int, n)
	for i := range n {
		if err := s.Put(ctx, goalRec(fmt.Sprintf("g%d", i), 1, "active", ""), 0); err != nil {
			b.Fatal(err)
		}
		vs[i] = 1
	}
	next := 0
	write := func() service.Write {
		i := next % n
		next++
		vs[i]++
		return service.Write{Rec: goalRec(fmt.Sprintf("g%d", i), vs[i], "active", ""), Prev: vs[i] - 1}
	}
	b.Run("put", func(b *testing.B) {
		for b.Loop() {
			w := write()
			if err := s.Put(ctx, w.Rec, w.Prev); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, size := range []int{1, 5, 20} {
		b.Run(fmt.Sprintf("commit-%d", size), func(b *testing.B) {
			for b.Loop() {
				var ws []service.Write
				for range size {
					ws = append(ws, write())
				}
				if err := s.Commit(ctx, ws); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkConsistently times what consistently adds to a search or a
// history without server transactions (its reads of commit slots and the
// journal around a read that does nothing): with no commits, and with
// 1,000 commit slots this minute that the process has not seen (it finds
// their number by galloping point lookups).
func BenchmarkConsistently(b *testing.B) {
	s := openStore(b, Options{})
	ctx := context.Background()
	nothing := func() error { return nil }
	b.Run("idle", func(b *testing.B) {
		for b.Loop() {
			if err := s.consistently(ctx, true, nil, nothing); err != nil {
				b.Fatal(err)
			}
		}
	})
	m := minuteOf(time.Now())
	var docs []any
	for n := 1; n <= 1000; n++ {
		docs = append(docs, slotDoc{ID: slotID(m, n), Txn: "x", Types: []string{"Goal"}, At: time.Now()})
	}
	if _, err := s.slotColl().InsertMany(ctx, docs); err != nil {
		b.Fatal(err)
	}
	b.Run("unseen-1000", func(b *testing.B) {
		for b.Loop() {
			s.slots.mu.Lock()
			s.slots.n = nil
			s.slots.mu.Unlock()
			if err := s.consistently(ctx, true, nil, nothing); err != nil {
				b.Fatal(err)
			}
		}
	})
}
