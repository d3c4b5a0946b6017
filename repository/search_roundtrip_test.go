package repository

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/search"
	"github.com/matcare/matcare/repository/mongotest"
	"github.com/matcare/matcare/service"
)

// commandLog records the read commands a Store sends, through
// Options.Monitor: those on the transaction collections (consistently's
// checks) apart.
type commandLog struct {
	mu   sync.Mutex
	cmds []sentCommand
	txn  []sentCommand
}

type sentCommand struct {
	name, coll string
	filter     bson.Raw // of a find; nil otherwise
}

// reads are the commands that read documents.
var reads = []string{"find", "aggregate", "count", "getMore", "distinct"}

func (l *commandLog) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if !slices.Contains(reads, e.CommandName) {
			return
		}
		c := sentCommand{name: e.CommandName}
		c.coll, _ = e.Command.Lookup(e.CommandName).StringValueOK()
		if f, ok := e.Command.Lookup("filter").DocumentOK(); ok {
			c.filter = slices.Clone(f)
		}
		l.mu.Lock()
		if c.coll == txnCollection || c.coll == outcomeCollection || c.coll == slotCollection {
			l.txn = append(l.txn, c)
		} else {
			l.cmds = append(l.cmds, c)
		}
		l.mu.Unlock()
	}}
}

// take returns the commands sent since the last take, but those on the
// transaction collections.
func (l *commandLog) take() []sentCommand {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.cmds
	l.cmds = nil
	return out
}

// takeTxn returns the commands on the transaction collections sent since
// the last takeTxn.
func (l *commandLog) takeTxn() []sentCommand {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.txn
	l.txn = nil
	return out
}

func names(cmds []sentCommand) []string {
	var out []string
	for _, c := range cmds {
		out = append(out, c.name+" "+c.coll)
	}
	return out
}

// parseSearch parses a type search as the service hands it to the store:
// the caller's board, every type includable.
func parseSearch(tb testing.TB, typ, params string) service.SearchQuery {
	tb.Helper()
	v, err := url.ParseQuery(params)
	if err != nil {
		tb.Fatal(err)
	}
	sq, _, err := search.ParseQuery(typ, v, search.Lookup)
	if err != nil {
		tb.Fatalf("%s?%s: %v", typ, params, err)
	}
	return service.SearchQuery{Type: typ, Query: sq, Tenancy: service.Tenancy{Board: corpusBoard}, Includable: fhir.TypeNames()}
}

// TestSearchRoundTrips counts the queries each kind of search sends to
// the server: one find per page, one more per include level and type,
// per chain link and per _revinclude (on FerretDB, a read of up to
// maxIDLookups ids is one point lookup per id instead); and checks that the page query of
// the benchmarked searches is the raw driver's filter of the benchmarks.
func TestSearchRoundTrips(t *testing.T) {
	var log commandLog
	ms := mongotest.Start(t)
	db := ms.NewDatabase(t)
	ctx := context.Background()
	s, err := Open(ctx, slog.New(slog.NewJSONHandler(io.Discard, nil)), ms.URI(), db, Options{Monitor: log.monitor()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	if err := ms.Optimize(ctx, db); err != nil {
		t.Fatal(err)
	}
	recs := corpus(30, true)
	for _, r := range recs[:12] { // the corpus's compartments are what the service computes
		res, err := fhir.Parse(r.Type, r.Body)
		if err != nil {
			t.Fatalf("%s/%s: %v", r.Type, r.ID, err)
		}
		if got := res.Patients(r.ID); !slices.Equal(got, r.Patients) {
			t.Fatalf("%s/%s: patients %q, corpus says %q", r.Type, r.ID, got, r.Patients)
		}
	}
	putAll(t, s, recs)
	pat := patientID(1)
	due := 0 // active Goals due by 2024-06-30
	for i := range 30 {
		if goalStatuses[i%goalsPerPatient] == "active" && dueDate(i) <= "2024-06-30" {
			due++
		}
	}
	log.take()
	log.takeTxn()
	// Without server transactions, a search reads the journal once and
	// commit slots by point lookups, before and after (see consistently);
	// with them, nothing.
	checkBarrier := func(t *testing.T) {
		t.Helper()
		cmds := log.takeTxn()
		if s.transactions {
			if len(cmds) > 0 {
				t.Errorf("commands on the transaction collections %q", names(cmds))
			}
			return
		}
		journal, slots := 0, 0
		for _, c := range cmds {
			switch {
			case c.name == "find" && c.coll == txnCollection && len(bson.Raw(c.filter)) == 5: // {}
				journal++
			case c.name == "find" && c.coll == slotCollection && isIDLookup(c.filter):
				slots++
			default:
				t.Errorf("unexpected %s %s %s", c.name, c.coll, c.filter)
			}
		}
		if journal != 1 || slots < 4 || slots > 6 {
			t.Errorf("%d journal reads and %d slot lookups, want 1 and 4 (5 or 6 across a minute)", journal, slots)
		}
	}
	// On FerretDB a search by up to maxIDLookups ids, and an include
	// level, is one point lookup per id (a $in would scan); on MongoDB one
	// find.
	byID := func(coll string, n int) []string {
		if !s.ferret {
			return []string{"find " + coll}
		}
		return slices.Repeat([]string{"find " + coll}, n)
	}
	cat := func(parts ...[]string) []string { return slices.Concat(parts...) }

	tests := []struct {
		typ, params string
		want        []string // the commands, in order
		matches     int
		included    int
	}{
		{"Goal", "patient=" + pat + "&lifecycle-status=active", []string{"find Goal"}, 6, 0},
		{"Goal", "patient=" + pat + "&lifecycle-status=active&_total=accurate", []string{"find Goal", "aggregate Goal"}, 6, 0},
		{"Goal", "target-date=le2024-06-30&lifecycle-status=active", []string{"find Goal"}, due, 0},
		{"Goal", "_id=" + goalID(10) + "," + goalID(12) + "," + goalID(13), byID("Goal", 3), 3, 0},
		{"CarePlan", "patient=" + pat + "&_include=CarePlan:goal", cat([]string{"find CarePlan"}, byID("Goal", 10)), 1, 10},
		{"CarePlan", "patient=" + pat + "&_include=CarePlan:goal&_include:iterate=Goal:subject",
			cat([]string{"find CarePlan"}, byID("Goal", 10), byID("Patient", 1)), 1, 11},
		{"CarePlan", "goal.lifecycle-status=active", []string{"find Goal", "find CarePlan"}, 3, 0},
		{"Goal", "patient=" + pat + "&_revinclude=CarePlan:goal", []string{"find Goal", "find CarePlan"}, 10, 1},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"?"+tt.params, func(t *testing.T) {
			res, err := s.Search(ctx, parseSearch(t, tt.typ, tt.params))
			if err != nil {
				t.Fatal(err)
			}
			got := names(log.take())
			if !slices.Equal(got, tt.want) {
				t.Errorf("commands %q, want %q", got, tt.want)
			}
			checkBarrier(t)
			if len(res.Matches) != tt.matches || len(res.Included) != tt.included {
				t.Errorf("%d matches and %d included, want %d and %d", len(res.Matches), len(res.Included), tt.matches, tt.included)
			}
		})
	}

	t.Run("one find per page", func(t *testing.T) {
		q := parseSearch(t, "Goal", "patient="+pat+"&lifecycle-status=active&_count=2")
		pages := 0
		for {
			res, err := s.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if got := names(log.take()); !slices.Equal(got, []string{"find Goal"}) {
				t.Fatalf("page %d: commands %q", pages, got)
			}
			checkBarrier(t)
			if res.Next == nil {
				break
			}
			q.After = res.Next
		}
		if pages != 3 {
			t.Errorf("%d pages, want 3", pages)
		}
	})

	// The benchmarks' raw queries are the store's own filters.
	filters := []struct {
		typ, params string
		want        []bson.D // the filter of each command
	}{
		{"Goal", "patient=" + pat + "&lifecycle-status=active", []bson.D{rawGoalByPatientStatus(corpusBoard, pat)}},
		{"Goal", "target-date=le2024-06-30&lifecycle-status=active",
			[]bson.D{rawGoalDueActive(corpusBoard, time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC))}},
		{"Goal", "_id=" + goalID(10) + "," + goalID(12), idFilters(s.ferret, rawSearchByIDs(corpusBoard, []string{goalID(10), goalID(12)}), goalID(10), goalID(12))},
		{"CarePlan", "patient=" + pat + "&_include=CarePlan:goal", append([]bson.D{rawCarePlanByPatient(corpusBoard, pat)},
			idFilters(s.ferret, rawByIDs(corpusBoard, patientGoals), patientGoals...)...)},
	}
	for _, tt := range filters {
		t.Run("filter "+tt.typ+"?"+tt.params, func(t *testing.T) {
			if _, err := s.Search(ctx, parseSearch(t, tt.typ, tt.params)); err != nil {
				t.Fatal(err)
			}
			cmds := log.take()
			if len(cmds) != len(tt.want) {
				t.Fatalf("commands %q, want %d", names(cmds), len(tt.want))
			}
			for i, c := range cmds {
				want, err := bson.Marshal(tt.want[i])
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(c.filter, want) {
					t.Errorf("%s filter\n  sent %s\n  raw  %s", names(cmds)[i], c.filter, bson.Raw(want))
				}
			}
		})
	}
}

// TestBulkCorpusEqualsPut checks the benchmarks' fast loader: the
// current documents insertAll stores are those Put stores.
func TestBulkCorpusEqualsPut(t *testing.T) {
	put, bulk := openStore(t, Options{}), openStore(t, Options{})
	recs := corpus(2*goalsPerPatient, true)
	putAll(t, put, recs)
	insertAll(t, bulk, recs)
	ctx := context.Background()
	for _, typ := range []string{"Patient", "CarePlan", "Goal"} {
		read := func(s *Store) []bson.Raw {
			cur, err := s.current(typ).Find(ctx, bson.D{})
			if err != nil {
				t.Fatal(err)
			}
			var docs []bson.Raw
			if err := cur.All(ctx, &docs); err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(docs, func(a, b bson.Raw) int {
				return strings.Compare(a.Lookup("_id").StringValue(), b.Lookup("_id").StringValue())
			})
			return docs
		}
		a, b := read(put), read(bulk)
		if len(a) == 0 || len(a) != len(b) {
			t.Fatalf("%s: %d documents through Put, %d through insertAll", typ, len(a), len(b))
		}
		for i := range a { // as maps: the index's maps are stored in no fixed order
			asMap := func(raw bson.Raw) bson.M {
				dec := bson.NewDecoder(bson.NewDocumentReader(bytes.NewReader(raw)))
				dec.DefaultDocumentM()
				var m bson.M
				if err := dec.Decode(&m); err != nil {
					t.Fatal(err)
				}
				return m
			}
			ma, mb := asMap(a[i]), asMap(b[i])
			if d := cmp.Diff(ma, mb); d != "" {
				t.Errorf("%s: stored through Put (-) and insertAll (+):\n%s", typ, d)
			}
		}
	}
}

// patientGoals are the ids of the Goals of patientID(1) in the corpus.
var patientGoals = func() []string {
	var ids []string
	for i := 10; i < 20; i++ {
		ids = append(ids, goalID(i))
	}
	return ids
}()

// idFilters are the filters of a read of ids: on FerretDB one point
// lookup {_id: id} each, otherwise the one query q.
func idFilters(ferret bool, q bson.D, ids ...string) []bson.D {
	if !ferret {
		return []bson.D{q}
	}
	var out []bson.D
	for _, id := range ids {
		out = append(out, bson.D{{Key: "_id", Value: id}})
	}
	return out
}

// isIDLookup reports whether filter is {_id: <string>}.
func isIDLookup(filter bson.Raw) bool {
	elems, err := filter.Elements()
	if err != nil || len(elems) != 1 || elems[0].Key() != "_id" {
		return false
	}
	_, ok := elems[0].Value().StringValueOK()
	return ok
}
