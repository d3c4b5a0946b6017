package repository

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/matcare/matcare/repository/mongotest"
	"github.com/matcare/matcare/service"
)

func TestMain(m *testing.M) { os.Exit(mongotest.Main(m)) }

func openStore(t testing.TB, opts Options) *Store {
	t.Helper()
	ms := mongotest.Start(t)
	db := ms.NewDatabase(t)
	ctx := context.Background()
	s, err := Open(ctx, slog.New(slog.NewJSONHandler(io.Discard, nil)), ms.URI(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	if err := ms.Optimize(ctx, db); err != nil {
		t.Fatal(err)
	}
	return s
}

func rec(id string, v int, body string) service.Record {
	return service.Record{Type: "Goal", ID: id, Version: v, Method: "PUT",
		LastUpdated: time.Now().UTC().Truncate(time.Millisecond), Body: []byte(body)}
}

func TestPutAndRead(t *testing.T) {
	s := openStore(t, Options{})
	ctx := context.Background()
	if _, err := s.Current(ctx, "Goal", "a"); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("Current of nothing: %v", err)
	}
	body := `{"resourceType":"Goal","id":"a","x":1.50}`
	if err := s.Put(ctx, rec("a", 1, body), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, rec("a", 1, body), 0); !errors.Is(err, service.ErrVersionConflict) {
		t.Fatalf("second create: %v, want ErrVersionConflict", err)
	}
	got, err := s.Current(ctx, "Goal", "a")
	if err != nil || got.Version != 1 || string(got.Body) != body {
		t.Fatalf("Current = %+v, %v", got, err)
	}
	if err := s.Put(ctx, rec("a", 3, body), 1); err == nil {
		t.Fatal("Put skipping a version succeeded")
	}
	if err := s.Put(ctx, rec("a", 2, `{"v":2}`), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, rec("a", 2, `{"v":"other"}`), 1); !errors.Is(err, service.ErrVersionConflict) {
		t.Fatalf("stale update: %v", err)
	}
	v1, err := s.Version(ctx, "Goal", "a", 1)
	if err != nil || string(v1.Body) != body {
		t.Fatalf("Version 1 = %+v, %v", v1, err)
	}
	if _, err := s.Version(ctx, "Goal", "a", 3); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("Version 3: %v", err)
	}
}

// TestPutRace: many writers of the same next version, exactly one wins.
func TestPutRace(t *testing.T) {
	s := openStore(t, Options{})
	ctx := context.Background()
	if err := s.Put(ctx, rec("r", 1, `{"n":0}`), 0); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Put(ctx, rec("r", 2, fmt.Sprintf(`{"n":%d}`, i)), 1)
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if won >= 0 {
				t.Fatalf("writers %d and %d both won", won, i)
			}
			won = i
		case !errors.Is(err, service.ErrVersionConflict):
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if won < 0 {
		t.Fatal("nobody won")
	}
	cur, _ := s.Current(ctx, "Goal", "r")
	if want := fmt.Sprintf(`{"n":%d}`, won); cur.Version != 2 || string(cur.Body) != want {
		t.Errorf("current = v%d %s, want v2 %s", cur.Version, cur.Body, want)
	}
	v2, _ := s.Version(ctx, "Goal", "r", 2)
	if string(v2.Body) != string(cur.Body) {
		t.Errorf("history v2 %s != current %s", v2.Body, cur.Body)
	}
}

// crashAt runs one Put that stops, as if the process died, right after
// step: the goroutine exits without running any later step.
func crashAt(t *testing.T, s *Store, step string, r service.Record, prev int) {
	t.Helper()
	fp, err := parseFailpoint(step)
	if err != nil {
		t.Fatal(err)
	}
	fp.exit = runtime.Goexit
	s.fail = fp
	defer func() { s.fail = nil }()
	done := make(chan error, 1)
	go func() {
		defer close(done)
		done <- s.Put(context.Background(), r, prev)
	}()
	if err, ok := <-done; ok {
		t.Fatalf("Put returned %v instead of stopping at %s", err, step)
	}
}

func TestCrashRepair(t *testing.T) {
	for _, step := range []string{afterClaim, afterCurrent, afterCommit} {
		t.Run(step, func(t *testing.T) {
			s := openStore(t, Options{WriteTimeout: 300 * time.Millisecond, StaleAfter: 900 * time.Millisecond})
			ctx := context.Background()
			if err := s.Put(ctx, rec("c", 1, `{"v":1}`), 0); err != nil {
				t.Fatal(err)
			}
			crashAt(t, s, step, rec("c", 2, `{"v":2}`), 1)

			// Before repair: the commit point decides what readers see.
			cur, err := s.Current(ctx, "Goal", "c")
			if err != nil {
				t.Fatal(err)
			}
			wantV := 2
			if step == afterClaim {
				wantV = 1
			}
			if cur.Version != wantV {
				t.Fatalf("current version %d, want %d", cur.Version, wantV)
			}
			_, err = s.Version(ctx, "Goal", "c", 2)
			if (step == afterClaim) != errors.Is(err, service.ErrNotFound) {
				t.Fatalf("Version 2 before repair: %v", err)
			}
			h, err := s.History(ctx, service.HistoryQuery{Type: "Goal", Count: 10, Tenancy: anyBoard})
			if err != nil || len(h) != wantV {
				t.Fatalf("type history: %d entries, %v; want %d", len(h), err, wantV)
			}

			// A writer meeting a fresh claim loses; once stale, it is
			// rolled forward, so the next write goes on from version 2.
			if step == afterClaim {
				if err := s.Put(ctx, rec("c", 2, `{"v":"late"}`), 1); !errors.Is(err, service.ErrVersionConflict) {
					t.Fatalf("write over a live claim: %v", err)
				}
				time.Sleep(time.Second)
				if err := s.Put(ctx, rec("c", 2, `{"v":"late"}`), 1); !errors.Is(err, service.ErrVersionConflict) {
					t.Fatalf("write over a stale claim: %v", err)
				}
				if s.Repairs() != 1 {
					t.Fatalf("repairs = %d, want 1", s.Repairs())
				}
			} else {
				n, err := s.Repair(ctx, true)
				if err != nil {
					t.Fatal(err)
				}
				want := 1
				if step == afterCommit {
					want = 0
				}
				if n != want {
					t.Fatalf("Repair = %d, want %d", n, want)
				}
			}
			cur, _ = s.Current(ctx, "Goal", "c")
			v2, err := s.Version(ctx, "Goal", "c", 2)
			if cur.Version != 2 || err != nil || string(v2.Body) != `{"v":2}` || string(cur.Body) != `{"v":2}` {
				t.Fatalf("after repair: current v%d %s, version 2 %s %v", cur.Version, cur.Body, v2.Body, err)
			}
			if n, _ := s.Repair(ctx, true); n != 0 {
				t.Errorf("second repair did %d", n)
			}
			if err := s.Put(ctx, rec("c", 3, `{"v":3}`), 2); err != nil {
				t.Fatalf("write after repair: %v", err)
			}
		})
	}
}

func TestHistoryOrderAndPaging(t *testing.T) {
	s := openStore(t, Options{})
	ctx := context.Background()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	// Several entries share a timestamp, across types, to exercise ties.
	put := func(typ, id string, v int, at time.Time) {
		r := service.Record{Type: typ, ID: id, Version: v, Method: "PUT", LastUpdated: at, Body: []byte(`{}`)}
		if err := s.Put(ctx, r, v-1); err != nil {
			t.Fatal(err)
		}
	}
	put("Goal", "a", 1, base)
	put("Goal", "b", 1, base)
	put("Patient", "a", 1, base)
	put("Goal", "a", 2, base.Add(time.Second))
	put("CarePlan", "z", 1, base.Add(time.Second))
	put("Goal", "a", 3, base.Add(2*time.Second))
	all, err := s.History(ctx, service.HistoryQuery{Count: 100, Tenancy: anyBoard})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 {
		t.Fatalf("%d entries", len(all))
	}
	for i := 1; i < len(all); i++ {
		if !all[i-1].Key().Less(all[i].Key()) {
			t.Errorf("entries %d and %d out of order: %+v %+v", i-1, i, all[i-1].Key(), all[i].Key())
		}
	}
	for count := 1; count <= 4; count++ {
		var walked []service.Record
		var after *service.HistoryKey
		for {
			page, err := s.History(ctx, service.HistoryQuery{Count: count, After: after, Tenancy: anyBoard})
			if err != nil {
				t.Fatal(err)
			}
			more := len(page) > count
			if more {
				page = page[:count]
			}
			walked = append(walked, page...)
			if !more {
				break
			}
			k := page[len(page)-1].Key()
			after = &k
		}
		if len(walked) != len(all) {
			t.Fatalf("count %d: walked %d entries", count, len(walked))
		}
		for i := range all {
			if walked[i].Key() != all[i].Key() {
				t.Errorf("count %d: entry %d = %+v, want %+v", count, i, walked[i].Key(), all[i].Key())
			}
		}
	}
	since, err := s.History(ctx, service.HistoryQuery{Type: "Goal", Count: 100, Since: base.Add(time.Second), Tenancy: anyBoard})
	if err != nil || len(since) != 2 {
		t.Errorf("_since: %d, %v", len(since), err)
	}
}

// anyBoard lets a query see every board, as a national reader does.
var anyBoard = service.Tenancy{AllBoards: true}
