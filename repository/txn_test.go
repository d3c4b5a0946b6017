package repository

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/repository/mongotest"
	"github.com/matcare/matcare/service"
)

// goalRec is version v of Goal id in lifecycle status status, with note
// as its description (to tell writers apart).
func goalRec(id string, v int, status, note string) service.Record {
	body := fmt.Sprintf(`{"resourceType":"Goal","id":%q,"lifecycleStatus":%q,"description":{"text":%q},"subject":{"reference":"Patient/p1"}}`, id, status, note)
	return service.Record{Type: "Goal", ID: id, Version: v, Method: "PUT", Board: "A", Patients: []string{"p1"},
		LastUpdated: time.Now().UTC().Truncate(time.Millisecond), Body: []byte(body)}
}

// tombstone is version v of Goal id as a delete writes it.
func tombstone(id string, v int) service.Record {
	return service.Record{Type: "Goal", ID: id, Version: v, Method: "DELETE", Deleted: true, Board: "A", Patients: []string{"p1"},
		LastUpdated: time.Now().UTC().Truncate(time.Millisecond)}
}

// carePlanRec is version v of CarePlan id, for Patient/p1.
func carePlanRec(id string, v int) service.Record {
	body := fmt.Sprintf(`{"resourceType":"CarePlan","id":%q,"status":"active","intent":"plan","subject":{"reference":"Patient/p1"}}`, id)
	return service.Record{Type: "CarePlan", ID: id, Version: v, Method: "PUT", Board: "A", Patients: []string{"p1"},
		LastUpdated: time.Now().UTC().Truncate(time.Millisecond), Body: []byte(body)}
}

func mustPut(t *testing.T, s *Store, r service.Record) {
	t.Helper()
	if err := s.Put(context.Background(), r, r.Version-1); err != nil {
		t.Fatalf("put %s/%d: %v", r.ID, r.Version, err)
	}
}

// searchIDs returns the ids a Goal search with params matches, sorted.
func searchIDs(t *testing.T, s *Store, params string) []string {
	t.Helper()
	ids, err := trySearchIDs(s, params)
	if err != nil {
		t.Fatalf("Goal?%s: %v", params, err)
	}
	return ids
}

func trySearchIDs(s *Store, params string) ([]string, error) {
	res, err := tryFind(s, service.SearchQuery{Type: "Goal", Tenancy: anyBoard}, params+"&_count=100")
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range res.Matches {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids, nil
}

// state is what readers see of Goal id: its current version ("gone" when
// deleted, "-" when not found) and the description of that version.
func state(t *testing.T, s *Store, id string) string {
	t.Helper()
	r, err := s.Current(context.Background(), "Goal", id)
	switch {
	case errors.Is(err, service.ErrNotFound):
		return "-"
	case err != nil:
		t.Fatalf("Current %s: %v", id, err)
	case r.Deleted:
		return fmt.Sprintf("v%d gone", r.Version)
	}
	note := string(r.Body)
	if i := strings.Index(note, `"text":"`); i >= 0 {
		note = note[i+8:]
		note = note[:strings.IndexByte(note, '"')]
	}
	return fmt.Sprintf("v%d %s", r.Version, note)
}

// versionVisible reports whether Version finds Goal id/v.
func versionVisible(t *testing.T, s *Store, id string, v int) bool {
	t.Helper()
	_, err := s.Version(context.Background(), "Goal", id, v)
	if err != nil && !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("Version %s/%d: %v", id, v, err)
	}
	return err == nil
}

// historyKeys lists history entries as "id/v", in history order.
func historyKeys(t *testing.T, s *Store, q service.HistoryQuery) []string {
	t.Helper()
	q.Tenancy, q.Count = anyBoard, 1000
	recs, err := s.History(context.Background(), q)
	if err != nil {
		t.Fatalf("history %+v: %v", q, err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%s/%d", r.ID, r.Version))
	}
	return out
}

// leftovers lists what an unfinished or undone transaction may leave in
// storage: pend marks, placeholders, pending history entries, journal
// entries, outcomes.
func leftovers(t *testing.T, s *Store) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for _, typ := range fhir.TypeNames() {
		cur, err := s.current(typ).Find(ctx, bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "pend", Value: bson.D{{Key: "$exists", Value: true}}}},
			bson.D{{Key: "v", Value: 0}},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		var docs []currentDoc
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			out = append(out, fmt.Sprintf("current %s/%s v%d pend %v", typ, d.ID, d.V, d.Pend))
		}
		cur, err = s.history(typ).Find(ctx, bson.D{{Key: "state", Value: pending}})
		if err != nil {
			t.Fatal(err)
		}
		var hs []historyDoc
		if err := cur.All(ctx, &hs); err != nil {
			t.Fatal(err)
		}
		for _, h := range hs {
			out = append(out, fmt.Sprintf("pending %s/%s txn %s", typ, h.ID, h.Txn))
		}
	}
	js, err := s.journals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range js {
		out = append(out, "journal "+j.ID)
	}
	cur, err := s.outcomes().Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var os []outcomeDoc
	if err := cur.All(ctx, &os); err != nil {
		t.Fatal(err)
	}
	for _, o := range os {
		out = append(out, fmt.Sprintf("outcome %s %v", o.ID, o.Committed))
	}
	return out
}

func noLeftovers(t *testing.T, s *Store) {
	t.Helper()
	if l := leftovers(t, s); len(l) > 0 {
		t.Errorf("left behind: %q", l)
	}
}

// pauseAt makes the store stop at step of the protocol (its "@n" form
// too) until release is called; paused is closed when it stops there.
func pauseAt(t *testing.T, s *Store, step string) (paused <-chan struct{}, release func()) {
	t.Helper()
	fp, err := parseFailpoint(step)
	if err != nil {
		t.Fatal(err)
	}
	p, r := make(chan struct{}), make(chan struct{})
	fp.exit = func() { close(p); <-r }
	s.fail = fp
	var once sync.Once
	return p, func() { once.Do(func() { close(r) }) }
}

// goCommit runs Commit in a goroutine; its result arrives on the channel.
func goCommit(s *Store, writes ...service.Write) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.Commit(context.Background(), writes) }()
	return done
}

func w(r service.Record) service.Write { return service.Write{Rec: r, Prev: r.Version - 1} }

func TestCommitValidation(t *testing.T) {
	s := openStore(t, Options{})
	ctx := context.Background()
	if err := s.Commit(ctx, nil); err != nil {
		t.Errorf("empty commit: %v", err)
	}
	for name, ws := range map[string][]service.Write{
		"skips a version": {{Rec: goalRec("a", 3, "active", ""), Prev: 1}},
		"same resource":   {w(goalRec("a", 1, "active", "")), w(goalRec("b", 1, "active", "")), {Rec: goalRec("a", 2, "active", ""), Prev: 1}},
		"unknown type":    {w(service.Record{Type: "Nope", ID: "a", Version: 1})},
	} {
		if err := s.Commit(ctx, ws); err == nil || errors.Is(err, service.ErrVersionConflict) {
			t.Errorf("%s: %v, want a plain error", name, err)
		}
	}
	noLeftovers(t, s)
	if got := state(t, s, "a"); got != "-" {
		t.Errorf("a after refused commits: %s", got)
	}
}

// TestCommitVisibleTogether commits a create, an update and a delete and
// checks every reader sees all three, and nothing is left pending.
func TestCommitVisibleTogether(t *testing.T) {
	s := openStore(t, Options{})
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c", "u"} {
		mustPut(t, s, goalRec(id, 1, "active", id+"1"))
	}
	err := s.Commit(ctx, []service.Write{
		w(goalRec("a", 2, "completed", "a2")),
		w(goalRec("n", 1, "completed", "n1")),
		w(tombstone("c", 2)),
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"a": "v2 a2", "n": "v1 n1", "c": "v2 gone", "b": "v1 b1"} {
		if got := state(t, s, id); got != want {
			t.Errorf("Current %s = %s, want %s", id, got, want)
		}
	}
	for _, hv := range []struct {
		id string
		v  int
	}{{"a", 1}, {"a", 2}, {"n", 1}, {"c", 1}, {"c", 2}} {
		if !versionVisible(t, s, hv.id, hv.v) {
			t.Errorf("Version %s/%d not found", hv.id, hv.v)
		}
	}
	if got := historyKeys(t, s, service.HistoryQuery{Type: "Goal", ID: "a"}); !slices.Equal(got, []string{"a/2", "a/1"}) {
		t.Errorf("instance history of a: %q", got)
	}
	if got := historyKeys(t, s, service.HistoryQuery{Type: "Goal"}); len(got) != 7 {
		t.Errorf("type history: %q, want 7 entries", got)
	}
	if got := historyKeys(t, s, service.HistoryQuery{}); len(got) != 7 {
		t.Errorf("system history: %q, want 7 entries", got)
	}
	if got := searchIDs(t, s, "lifecycle-status=completed"); !slices.Equal(got, []string{"a", "n"}) {
		t.Errorf("completed: %q", got)
	}
	if got := searchIDs(t, s, "lifecycle-status=active"); !slices.Equal(got, []string{"b", "u"}) {
		t.Errorf("active: %q", got)
	}
	if got := searchIDs(t, s, "_id=a,c,n"); !slices.Equal(got, []string{"a", "n"}) {
		t.Errorf("by id: %q", got)
	}
	noLeftovers(t, s)
	mustPut(t, s, goalRec("a", 3, "active", "a3"))
	mustPut(t, s, goalRec("n", 2, "active", "n2"))
	mustPut(t, s, goalRec("c", 3, "active", "c3"))
}

// TestCommitConflictLeavesNothing: a commit that loses on one write
// stores none, leaves nothing behind and burns no version.
func TestCommitConflictLeavesNothing(t *testing.T) {
	for _, tt := range []struct {
		name   string
		writes func() []service.Write
		names  string // in the error
	}{
		// b's version 2 is taken: the claim fails after a's succeeded.
		{"claim", func() []service.Write {
			return []service.Write{w(goalRec("a", 2, "completed", "")), w(goalRec("b", 2, "completed", "")), w(goalRec("n", 1, "completed", ""))}
		}, "Goal/b/2"},
		// zz is at 1, not 2: every claim succeeds, a and n are marked
		// (n's placeholder inserted) before zz's check fails.
		{"pend", func() []service.Write {
			return []service.Write{w(goalRec("a", 2, "completed", "")), w(goalRec("n", 1, "completed", "")), {Rec: goalRec("zz", 3, "completed", ""), Prev: 2}}
		}, "Goal/zz/3"},
		// The resource to create exists.
		{"exists", func() []service.Write {
			return []service.Write{w(goalRec("a", 2, "completed", "")), w(goalRec("zz", 1, "completed", ""))}
		}, "Goal/zz/1"},
		// The same in the middle of the placeholders (one InsertMany):
		// m's is inserted, then undone; zzz's never is.
		{"exists-midway", func() []service.Write {
			return []service.Write{w(goalRec("m", 1, "completed", "")), w(goalRec("zz", 1, "completed", "")), w(goalRec("zzz", 1, "completed", ""))}
		}, "Goal/zz/1"},
		// Two types: the CarePlan's claim and placeholder (the first
		// InsertMany of each step) are undone when a Goal's claim fails.
		{"claim-other-type", func() []service.Write {
			return []service.Write{w(goalRec("a", 2, "completed", "")), w(carePlanRec("c", 1)), w(goalRec("b", 2, "completed", ""))}
		}, "Goal/b/2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, Options{})
			ctx := context.Background()
			mustPut(t, s, goalRec("a", 1, "active", "a1"))
			mustPut(t, s, goalRec("b", 1, "active", "b1"))
			mustPut(t, s, goalRec("b", 2, "active", "b2"))
			mustPut(t, s, goalRec("zz", 1, "active", "zz1"))
			err := s.Commit(ctx, tt.writes())
			if !errors.Is(err, service.ErrVersionConflict) || !strings.Contains(err.Error(), tt.names) {
				t.Fatalf("commit: %v, want a version conflict naming %s", err, tt.names)
			}
			for id, want := range map[string]string{"a": "v1 a1", "b": "v2 b2", "n": "-", "zz": "v1 zz1"} {
				if got := state(t, s, id); got != want {
					t.Errorf("Current %s = %s, want %s", id, got, want)
				}
			}
			if versionVisible(t, s, "a", 2) || versionVisible(t, s, "n", 1) || versionVisible(t, s, "zz", 3) {
				t.Error("a version of the failed commit is visible")
			}
			if got := searchIDs(t, s, "lifecycle-status=completed"); len(got) > 0 {
				t.Errorf("search finds %q", got)
			}
			noLeftovers(t, s)
			// No version was burned.
			mustPut(t, s, goalRec("a", 2, "active", "a2"))
			mustPut(t, s, goalRec("n", 1, "active", "n1"))
			mustPut(t, s, goalRec("zz", 2, "active", "zz2"))
			if _, err := s.Current(ctx, "CarePlan", "c"); !errors.Is(err, service.ErrNotFound) {
				t.Errorf("CarePlan c: %v", err)
			}
			mustPut(t, s, carePlanRec("c", 1))
		})
	}
}

// TestCommitRace: goroutines commit increments of two counters A and B
// together, retrying on conflicts. Every success is in both counters'
// history exactly once and at the same version: no lost update, no
// loser's write, no interleaving.
func TestCommitRace(t *testing.T) {
	s := openStore(t, Options{})
	ctx := context.Background()
	mustPut(t, s, goalRec("A", 1, "active", "start"))
	mustPut(t, s, goalRec("B", 1, "active", "start"))
	const writers, each = 6, 4
	var wg sync.WaitGroup
	var conflicts atomic.Int64
	errs := make(chan error, writers)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < each; {
				a, err1 := s.Current(ctx, "Goal", "A")
				b, err2 := s.Current(ctx, "Goal", "B")
				if err := errors.Join(err1, err2); err != nil {
					errs <- err
					return
				}
				note := fmt.Sprintf("g%d-%d", g, k)
				err := s.Commit(ctx, []service.Write{
					{Rec: goalRec("A", a.Version+1, "active", note), Prev: a.Version},
					{Rec: goalRec("B", b.Version+1, "active", note), Prev: b.Version},
				})
				switch {
				case err == nil:
					k++
				case errors.Is(err, service.ErrVersionConflict):
					conflicts.Add(1)
					time.Sleep(time.Duration(rand.N(5)) * time.Millisecond)
				default:
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d conflicts", conflicts.Load())
	notes := func(id string) []string {
		var out []string
		for v := 2; v <= 1+writers*each; v++ {
			r, err := s.Version(ctx, "Goal", id, v)
			if err != nil {
				t.Fatalf("%s/%d: %v", id, v, err)
			}
			out = append(out, state2note(r))
		}
		return out
	}
	na, nb := notes("A"), notes("B")
	if !slices.Equal(na, nb) {
		t.Errorf("A and B were written by different commits:\n%q\n%q", na, nb)
	}
	seen := map[string]bool{}
	for _, n := range na {
		if seen[n] {
			t.Errorf("%s written twice", n)
		}
		seen[n] = true
	}
	if len(seen) != writers*each {
		t.Errorf("%d distinct writes, want %d", len(seen), writers*each)
	}
	for _, id := range []string{"A", "B"} {
		if got, want := state(t, s, id), fmt.Sprintf("v%d %s", 1+writers*each, na[len(na)-1]); got != want {
			t.Errorf("%s: %s, want %s", id, got, want)
		}
	}
	if _, err := s.Version(ctx, "Goal", "A", 2+writers*each); !errors.Is(err, service.ErrNotFound) {
		t.Errorf("a version past the last commit: %v", err)
	}
	noLeftovers(t, s)
}

// state2note is the description of a Goal record.
func state2note(r service.Record) string {
	b := string(r.Body)
	i := strings.Index(b, `"text":"`)
	if i < 0 {
		return ""
	}
	b = b[i+8:]
	return b[:strings.IndexByte(b, '"')]
}

// TestCommitReadersMidway stops a commit at each step and checks what
// readers see: nothing before the commit point, everything after it,
// with searches waiting out the roll forward.
func TestCommitReadersMidway(t *testing.T) {
	for _, tt := range []struct {
		step    string
		visible bool
	}{
		{afterJournal, false},
		{afterTxnClaim + "@3", false},
		{afterPend + "@2", false},
		{afterPend + "@3", false},
		{afterTxnCommit, true},
		{afterRollforward + "@1", true},
		{afterRollforward + "@3", true},
	} {
		t.Run(tt.step, func(t *testing.T) {
			s := openStore(t, Options{})
			ctx := context.Background()
			mustPut(t, s, goalRec("a", 1, "active", "a1"))
			mustPut(t, s, goalRec("b", 1, "active", "b1"))
			paused, release := pauseAt(t, s, tt.step)
			defer release()
			done := goCommit(s, w(goalRec("a", 2, "completed", "a2")), w(tombstone("b", 2)), w(goalRec("n", 1, "completed", "n1")))
			select {
			case <-paused:
			case err := <-done:
				t.Fatalf("commit ended (%v) before %s", err, tt.step)
			}

			want := map[string]string{"a": "v1 a1", "b": "v1 b1", "n": "-"}
			wantHist := []string{"a/1", "b/1"}
			wantSearch := []string{"a", "b"}
			if tt.visible {
				want = map[string]string{"a": "v2 a2", "b": "v2 gone", "n": "v1 n1"}
				wantHist = []string{"a/1", "a/2", "b/1", "b/2", "n/1"}
				wantSearch = []string{"a", "n"}
			}
			for id, w := range want {
				if got := state(t, s, id); got != w {
					t.Errorf("Current %s = %s, want %s", id, got, w)
				}
			}
			for _, id := range []string{"a", "b", "n"} {
				v := 2
				if id == "n" {
					v = 1
				}
				if got := versionVisible(t, s, id, v); got != tt.visible {
					t.Errorf("Version %s/%d visible: %v", id, v, got)
				}
			}
			sorted := func(k []string) []string { slices.Sort(k); return k }
			if got := sorted(historyKeys(t, s, service.HistoryQuery{Type: "Goal"})); !slices.Equal(got, wantHist) {
				t.Errorf("type history %q, want %q", got, wantHist)
			}
			if got := sorted(historyKeys(t, s, service.HistoryQuery{})); !slices.Equal(got, wantHist) {
				t.Errorf("system history %q, want %q", got, wantHist)
			}
			if got := historyKeys(t, s, service.HistoryQuery{Type: "Goal", ID: "a"}); len(got) != 1+btoi(tt.visible) {
				t.Errorf("history of a %q", got)
			}
			if tt.step != afterJournal {
				// A writer of a claimed version loses.
				if err := s.Put(ctx, goalRec("a", 2, "active", "late"), 1); tt.step != afterJournal && !errors.Is(err, service.ErrVersionConflict) {
					t.Errorf("Put a/2 midway: %v", err)
				}
				if err := s.Put(ctx, goalRec("n", 1, "active", "late"), 0); !errors.Is(err, service.ErrVersionConflict) {
					t.Errorf("Put n/1 midway: %v", err)
				}
			}
			if tt.step == afterTxnCommit || tt.step == afterRollforward+"@1" {
				// n is at version 1 for readers, but not rolled forward: a
				// writer of version 2 waits (its write could be undone by
				// the roll forward).
				if err := s.Put(ctx, goalRec("n", 2, "active", "next"), 1); !errors.Is(err, service.ErrVersionConflict) {
					t.Errorf("Put n/2 before the roll forward: %v", err)
				}
			}

			// A search sees the transaction all or not at all: during the
			// roll forward, it waits for its end.
			// (_id=: by point lookups on FerretDB; _sort: by a query.)
			found := make(chan []string, 2)
			for _, q := range []string{"_id=a,b,n", "_sort=_id"} {
				go func() {
					ids, err := trySearchIDs(s, q)
					if err != nil {
						t.Error(err)
					}
					found <- ids
				}()
			}
			if tt.visible {
				select {
				case ids := <-found:
					t.Fatalf("search returned %q during the roll forward", ids)
				case <-time.After(300 * time.Millisecond):
				}
				release()
			}
			for range 2 {
				if ids := <-found; !slices.Equal(ids, wantSearch) {
					t.Errorf("search %q, want %q", ids, wantSearch)
				}
			}
			release()
			if err := <-done; err != nil {
				t.Fatalf("commit: %v", err)
			}
			if got := searchIDs(t, s, "lifecycle-status=completed,active"); !slices.Equal(got, []string{"a", "n"}) {
				t.Errorf("search after the commit: %q", got)
			}
			noLeftovers(t, s)
		})
	}
}

// TestCommitSearchAllOrNothing: while one goroutine commits x and y
// together, alternating their status, with a pause after the first of
// them is rolled forward, searches and histories in other goroutines
// always see both or neither.
func TestCommitSearchAllOrNothing(t *testing.T) {
	s := openStore(t, Options{})
	ctx := context.Background()
	mustPut(t, s, goalRec("x", 1, "active", ""))
	mustPut(t, s, goalRec("y", 1, "active", ""))
	fp, err := parseFailpoint(afterRollforward)
	if err != nil {
		t.Fatal(err)
	}
	fp.exit = func() { time.Sleep(20 * time.Millisecond) }
	s.fail = fp
	const commits = 20
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads atomic.Int64
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, st := range []string{"active", "completed"} {
					ids, err := trySearchIDs(s, "lifecycle-status="+st)
					if err != nil {
						t.Error(err)
						return
					}
					if len(ids) == 1 {
						t.Errorf("search %s found %q alone", st, ids)
					}
				}
				recs, err := s.History(ctx, service.HistoryQuery{Type: "Goal", Count: 1000, Tenancy: anyBoard})
				if err != nil {
					t.Error(err)
					return
				}
				n := map[string]int{}
				for _, r := range recs {
					n[r.ID]++
				}
				if n["x"] != n["y"] {
					t.Errorf("history has %d versions of x, %d of y", n["x"], n["y"])
				}
				reads.Add(1)
			}
		}()
	}
	status := []string{"active", "completed"}
	for i := range commits {
		fp.hits.Store(0)
		v := i + 2
		err := s.Commit(ctx, []service.Write{w(goalRec("x", v, status[v%2], "")), w(goalRec("y", v, status[v%2], ""))})
		if err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d reads during %d commits", reads.Load(), commits)
	if reads.Load() < commits {
		t.Errorf("only %d reads", reads.Load())
	}
}

// TestConsistentlyRereads: a read during which a transaction commits is
// read again, and one during which transactions keep committing gives up.
func TestConsistentlyRereads(t *testing.T) {
	s := openStore(t, Options{WriteTimeout: 300 * time.Millisecond})
	ctx := context.Background()
	n := 0
	commit := func() error {
		n++
		return s.Commit(ctx, []service.Write{w(goalRec(fmt.Sprintf("r%d", n), 1, "active", ""))})
	}
	reads := 0
	err := s.consistently(ctx, true, nil, func() error {
		reads++
		if reads == 1 {
			return commit()
		}
		return nil
	})
	if err != nil || reads != 2 {
		t.Errorf("a commit during the read: %d reads, %v; want 2", reads, err)
	}
	// A commit of a type the read does not read changes nothing.
	reads = 0
	err = s.consistently(ctx, true, []string{"CarePlan"}, func() error {
		reads++
		return commit()
	})
	if err != nil || reads != 1 {
		t.Errorf("a commit of another type during the read: %d reads, %v; want 1", reads, err)
	}
	// A transaction that took its commit slot before the read, and commits
	// during it, is found through the journal.
	paused, release := pauseAt(t, s, afterTxnSlot)
	done := goCommit(s, w(goalRec("slow", 1, "active", "")))
	<-paused
	reads = 0
	err = s.consistently(ctx, false, nil, func() error {
		reads++
		if reads == 1 {
			release()
			if err := <-done; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || reads != 2 {
		t.Errorf("a commit slotted before the read: %d reads, %v; want 2", reads, err)
	}
	s.fail = nil
	reads = 0
	err = s.consistently(ctx, false, nil, func() error {
		reads++
		return commit()
	})
	if !errors.Is(err, service.ErrUnavailable) || reads < 2 {
		t.Errorf("commits during every read: %d reads, %v; want ErrUnavailable", reads, err)
	}
}

// crashCommit runs one Commit that stops, as if the process died, right
// after step.
func crashCommit(t *testing.T, s *Store, step string, writes ...service.Write) {
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
		done <- s.Commit(context.Background(), writes)
	}()
	if err, ok := <-done; ok {
		t.Fatalf("Commit returned %v instead of stopping at %s", err, step)
	}
}

// reopen opens another Store on s's database, as a restarted process
// does (Open repairs).
func reopen(t *testing.T, s *Store, opts Options) *Store {
	t.Helper()
	ms := mongotest.Start(t)
	s2, err := Open(context.Background(), slog.New(slog.NewJSONHandler(io.Discard, nil)), ms.URI(), s.Database(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close(context.Background()) })
	return s2
}

// TestCommitCrashRepair stops a commit at each step, as a killed process
// would, and checks what readers see before repair and that repair (by a
// writer meeting the stale claim, by a search, by Repair, or at start-up)
// completes a committed transaction and undoes any other.
func TestCommitCrashRepair(t *testing.T) {
	// Timeouts long enough for a loaded machine under -race: every step
	// of a repair must fit in WriteTimeout.
	opts := Options{WriteTimeout: time.Second, StaleAfter: 3 * time.Second}
	for _, tt := range []struct {
		step   string
		commit bool
		repair string // writer, commit, search, all, startup, none
	}{
		{afterJournal, false, "startup"},
		{afterTxnClaim + "@1", false, "writer"},
		{afterTxnClaim + "@3", false, "all"},
		{afterPend + "@1", false, "writer"},
		{afterPend + "@3", false, "startup"},
		{afterTxnCommit, true, "search"},
		{afterTxnCommit, true, "commit"},
		{afterRollforward + "@1", true, "all"},
		{afterRollforward + "@2", true, "writer"},
		{afterRollforward + "@3", true, "startup"},
		{afterTxnDone, true, "none"},
	} {
		t.Run(tt.step+"/"+tt.repair, func(t *testing.T) {
			s := openStore(t, opts)
			ctx := context.Background()
			mustPut(t, s, goalRec("a", 1, "active", "a1"))
			mustPut(t, s, goalRec("b", 1, "active", "b1"))
			crashCommit(t, s, tt.step, w(goalRec("a", 2, "completed", "a2")), w(tombstone("b", 2)), w(goalRec("n", 1, "completed", "n1")))

			want := map[string]string{"a": "v1 a1", "b": "v1 b1", "n": "-"}
			if tt.commit {
				want = map[string]string{"a": "v2 a2", "b": "v2 gone", "n": "v1 n1"}
			}
			check := func(when string) {
				t.Helper()
				for id, w := range want {
					if got := state(t, s, id); got != w {
						t.Errorf("%s: Current %s = %s, want %s", when, id, got, w)
					}
				}
				if got := versionVisible(t, s, "n", 1); got != tt.commit {
					t.Errorf("%s: Version n/1 visible: %v", when, got)
				}
				if got := len(historyKeys(t, s, service.HistoryQuery{})); got != 2+3*btoi(tt.commit) {
					t.Errorf("%s: %d history entries", when, got)
				}
			}
			check("before repair")
			stuck := tt.commit && tt.step != afterTxnDone
			if stuck {
				// Until the transaction is stale, a search cannot know all
				// of it is in the current documents.
				if _, err := trySearchIDs(s, "lifecycle-status=completed"); !errors.Is(err, service.ErrUnavailable) {
					t.Errorf("search during an interrupted roll forward: %v", err)
				}
			} else if got := searchIDs(t, s, "lifecycle-status=completed"); len(got) != 2*btoi(tt.commit) {
				t.Errorf("search before repair: %q", got)
			}
			if tt.repair != "none" && tt.repair != "all" {
				time.Sleep(opts.StaleAfter)
			}
			repairs := 1
			switch tt.repair {
			case "writer":
				// A writer meets the stale claim (or pend mark) and repairs:
				// of a (claimed first) if not committed, else of n (rolled
				// forward last).
				err := s.Put(ctx, goalRec("a", 2, "active", "w"), 1)
				if tt.commit {
					err = s.Put(ctx, goalRec("n", 2, "active", "w"), 1)
				}
				if !errors.Is(err, service.ErrVersionConflict) {
					t.Fatalf("Put over a stale transaction: %v", err)
				}
			case "commit":
				// A transaction meets the stale pend mark on n and repairs.
				err := s.Commit(ctx, []service.Write{w(goalRec("n", 2, "active", "w"))})
				if !errors.Is(err, service.ErrVersionConflict) {
					t.Fatalf("Commit over a stale transaction: %v", err)
				}
			case "search":
				if got := searchIDs(t, s, "lifecycle-status=completed"); !slices.Equal(got, []string{"a", "n"}) {
					t.Errorf("search repairing: %q", got)
				}
			case "all":
				n, err := s.Repair(ctx, true)
				if err != nil || n != 1 {
					t.Fatalf("Repair = %d, %v; want 1", n, err)
				}
			case "startup":
				s = reopen(t, s, opts)
			case "none":
				repairs = 0
				if n, err := s.Repair(ctx, true); err != nil || n != 0 {
					t.Fatalf("Repair = %d, %v; want 0", n, err)
				}
			}
			if got := int(s.Repairs()); got != repairs {
				t.Errorf("repairs = %d, want %d", got, repairs)
			}
			check("after repair")
			if got := searchIDs(t, s, "lifecycle-status=completed"); len(got) != 2*btoi(tt.commit) {
				t.Errorf("search after repair: %q", got)
			}
			noLeftovers(t, s)
			if n, _ := s.Repair(ctx, true); n != 0 {
				t.Errorf("second repair did %d", n)
			}
			// Writes go on from where the outcome left each resource: no
			// version burned by an undone transaction.
			next := 2 + btoi(tt.commit)
			mustPut(t, s, goalRec("a", next, "active", "after"))
			mustPut(t, s, goalRec("b", next, "active", "after"))
			mustPut(t, s, goalRec("n", 1+btoi(tt.commit), "active", "after"))
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestCommitOrphanClaim: a transaction's claim whose journal entry is
// gone (only a fault can do that) is settled by Repair alone.
func TestCommitOrphanClaim(t *testing.T) {
	s := openStore(t, Options{WriteTimeout: 300 * time.Millisecond, StaleAfter: 900 * time.Millisecond})
	ctx := context.Background()
	mustPut(t, s, goalRec("a", 1, "active", "a1"))
	crashCommit(t, s, afterTxnClaim+"@2", w(goalRec("a", 2, "completed", "")), w(goalRec("n", 1, "completed", "")))
	if _, err := s.journal().DeleteMany(ctx, bson.D{}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Repair(ctx, true); err != nil || n != 2 {
		t.Fatalf("Repair = %d, %v; want 2", n, err)
	}
	// The outcome that settled them stays until a Store opens.
	if l := leftovers(t, s); len(l) != 1 || !strings.HasPrefix(l[0], "outcome ") || !strings.HasSuffix(l[0], " false") {
		t.Errorf("left behind: %q, want one outcome", l)
	}
	s = reopen(t, s, Options{})
	noLeftovers(t, s)
	mustPut(t, s, goalRec("a", 2, "active", ""))
	mustPut(t, s, goalRec("n", 1, "active", ""))
}

// TestPutRacesCommit: single writes and commits race for the same
// versions; each round exactly one wins, and a commit's other write is
// there exactly when it won.
func TestPutRacesCommit(t *testing.T) {
	s := openStore(t, Options{})
	ctx := context.Background()
	mustPut(t, s, goalRec("a", 1, "active", "start"))
	mustPut(t, s, goalRec("b", 1, "active", "start"))
	bv := 1
	for round := range 8 {
		const racers = 6
		errs := make([]error, racers)
		var wg sync.WaitGroup
		av := round + 1
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				note := fmt.Sprintf("r%d-%d", round, i)
				if i%2 == 0 {
					errs[i] = s.Put(ctx, goalRec("a", av+1, "active", note), av)
					return
				}
				errs[i] = s.Commit(ctx, []service.Write{
					{Rec: goalRec("a", av+1, "active", note), Prev: av},
					{Rec: goalRec("b", bv+1, "active", note), Prev: bv},
				})
			}()
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won >= 0:
				t.Fatalf("round %d: racers %d and %d both won", round, won, i)
			case err == nil:
				won = i
			case !errors.Is(err, service.ErrVersionConflict):
				t.Fatalf("round %d, racer %d: %v", round, i, err)
			}
		}
		if won < 0 {
			// The first claim of a's version wins: a Put's next steps, and
			// a commit's claim of b (no other racer claims it), cannot fail.
			t.Fatalf("round %d: nobody won: %v", round, errs)
		}
		note := fmt.Sprintf("r%d-%d", round, won)
		if got, want := state(t, s, "a"), fmt.Sprintf("v%d %s", av+1, note); got != want {
			t.Errorf("round %d: a = %s, want %s", round, got, want)
		}
		if won%2 == 1 {
			bv++
		}
		b, err := s.Current(ctx, "Goal", "b")
		if err != nil || b.Version != bv || won%2 == 1 && state2note(b) != note {
			t.Errorf("round %d (won by %d): b = v%d %s, %v; want v%d", round, won, b.Version, state2note(b), err, bv)
		}
	}
	noLeftovers(t, s)
}

// TestEntryCommittedAfterOutcome: an entry read pending while its
// transaction was rolling forward is committed once the outcome is gone
// (deleted after the entries were marked): readers read it again.
func TestEntryCommittedAfterOutcome(t *testing.T) {
	s := openStore(t, Options{})
	ctx := context.Background()
	if err := s.Commit(ctx, []service.Write{w(goalRec("a", 1, "active", ""))}); err != nil {
		t.Fatal(err)
	}
	var h historyDoc
	if err := s.history("Goal").FindOne(ctx, bson.D{{Key: "_id", Value: "a/1"}}).Decode(&h); err != nil {
		t.Fatal(err)
	}
	if h.Txn == "" || h.State != committed {
		t.Fatalf("entry %+v", h)
	}
	h.State = pending // as read before the roll forward marked it
	if ok, err := s.entryCommitted(ctx, "Goal", h); err != nil || !ok {
		t.Errorf("entryCommitted = %v, %v; want true", ok, err)
	}
	h.ID = "a/2" // an entry since removed (an undone transaction's)
	if ok, err := s.entryCommitted(ctx, "Goal", h); err != nil || ok {
		t.Errorf("entryCommitted of a removed entry = %v, %v; want false", ok, err)
	}
}
