package repository

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/matcare/matcare/fhir/search"
	"github.com/matcare/matcare/service"
)

// find runs q with the search parameters params (a URL query) and fails
// the test on error.
func find(t *testing.T, s *Store, q service.SearchQuery, params string) service.SearchResult {
	t.Helper()
	res, err := tryFind(s, q, params)
	if err != nil {
		t.Fatalf("%s?%s: %v", q.Type, params, err)
	}
	return res
}

func tryFind(s *Store, q service.SearchQuery, params string) (service.SearchResult, error) {
	v, err := url.ParseQuery(params)
	if err != nil {
		return service.SearchResult{}, err
	}
	sq, _, err := search.ParseQuery(q.Type, v, search.Lookup)
	if err != nil {
		return service.SearchResult{}, err
	}
	q.Query = sq
	if q.Type == "" && len(q.Types) == 0 {
		q.Types = sq.Types
	}
	return s.Search(context.Background(), q)
}

// TestFilterKeepsEveryMatch checks the storage filters against the exact
// semantics on the differential test's dataset: for every query without
// chains, what Search returns, and its total, equal what
// search.MatchesAll accepts among all stored resources of the type: no
// filter drops a match, and a filter said to be exact is (counts use it
// alone).
func TestFilterKeepsEveryMatch(t *testing.T) {
	s := openStore(t, Options{})
	ctx := context.Background()
	dir := filepath.Join("..", "api", "testdata", "differential")
	var dataset []json.RawMessage
	var queries []string
	for name, v := range map[string]any{"dataset.json": &dataset, "queries.json": &queries} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	lu := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, raw := range dataset {
		var head struct{ ResourceType, ID string }
		if err := json.Unmarshal(raw, &head); err != nil {
			t.Fatal(err)
		}
		r := service.Record{Type: head.ResourceType, ID: head.ID, Version: 1, Method: "PUT", Board: "A", LastUpdated: lu, Body: raw}
		if err := s.Put(ctx, r, 0); err != nil {
			t.Fatal(err)
		}
	}
	checked := 0
	for _, q := range queries {
		typ, params, _ := strings.Cut(q, "?")
		v, err := url.ParseQuery(params)
		if err != nil {
			t.Fatal(err)
		}
		sq, _, err := search.ParseQuery(typ, v, search.Lookup)
		// Chains are joins, not filters; _lastUpdated is the stored lu
		// field (these bodies, put without the service, carry no meta).
		if err != nil || slices.ContainsFunc(sq.Clauses, func(c search.Clause) bool {
			return len(c.Chain) > 0 || c.Param.Name == "_lastUpdated"
		}) {
			continue
		}
		got := find(t, s, service.SearchQuery{Type: typ, Tenancy: anyBoard}, params+"&_count=1000&_total=accurate")
		var gotIDs []string
		for _, r := range got.Matches {
			gotIDs = append(gotIDs, r.ID)
		}
		cur, err := s.current(typ).Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var docs []currentDoc
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, d := range docs {
			idx, err := search.Extract(typ, []byte(d.Body))
			if err != nil {
				t.Fatal(err)
			}
			if search.MatchesAll(sq.Clauses, idx) {
				want = append(want, d.ID)
			}
		}
		slices.Sort(gotIDs)
		slices.Sort(want)
		if !slices.Equal(gotIDs, want) || got.Total != int64(len(want)) {
			t.Errorf("%s: search %v (total %d), exact check of every resource %v", q, gotIDs, got.Total, want)
		}
		checked++
	}
	if checked < 200 {
		t.Errorf("only %d queries checked", checked)
	}
}

// TestIDLookupsMatchQuery checks that a search by a few ids (point
// lookups on FerretDB) finds, orders, pages and counts what the same
// search finds by query (more ids than maxIDLookups), under tenancy,
// compartments, deletion, _lastUpdated and other clauses.
func TestIDLookupsMatchQuery(t *testing.T) {
	s := openStore(t, Options{})
	ctx := context.Background()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 12 {
		id := fmt.Sprintf("g%02d", i)
		ids = append(ids, id)
		status := []string{"active", "completed", "proposed"}[i%3]
		body := fmt.Sprintf(`{"resourceType":"Goal","id":%q,"lifecycleStatus":%q,"description":{"text":"x"},"subject":{"reference":"Patient/p%d"},"target":[{"dueDate":"2025-%02d-01"}]}`, id, status, i%2, 12-i)
		r := service.Record{Type: "Goal", ID: id, Version: 1, Method: "PUT", Board: []string{"A", "B"}[i%4/3], Patients: []string{fmt.Sprintf("p%d", i%2)},
			LastUpdated: base.Add(time.Duration(i) * time.Hour), Body: []byte(body)}
		if err := s.Put(ctx, r, 0); err != nil {
			t.Fatal(err)
		}
	}
	del := service.Record{Type: "Goal", ID: "g05", Version: 2, Method: "DELETE", Deleted: true, Board: "A", LastUpdated: base.Add(20 * time.Hour)}
	if err := s.Put(ctx, del, 1); err != nil {
		t.Fatal(err)
	}
	pad := make([]string, maxIDLookups)
	for i := range pad {
		pad[i] = fmt.Sprintf("zz%03d", i)
	}
	few := strings.Join(append(ids, "nope"), ",")
	many := few + "," + strings.Join(pad, ",")
	walk := func(q service.SearchQuery, params string) (all []string, total int64) {
		t.Helper()
		v, _ := url.ParseQuery(params)
		sq, _, err := search.ParseQuery(q.Type, v, search.Lookup)
		if err != nil {
			t.Fatal(err)
		}
		q.Query = sq
		for {
			res, err := s.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res.Matches {
				all = append(all, r.ID)
			}
			total = max(total, res.Total)
			if res.Next == nil {
				return all, total
			}
			q.After = res.Next
		}
	}
	for _, ten := range []service.Tenancy{anyBoard, {Board: "A"}, {Board: "A", Patient: "p1"}} {
		for _, compartment := range []string{"", "p0"} {
			for _, params := range []string{"", "&_sort=-target-date", "&lifecycle-status=active,proposed&_sort=_lastUpdated",
				"&_lastUpdated=ge2024-01-01T05:00:00Z", "&_id=g01,g02,g03,g07", "&_sort=-_id"} {
				q := service.SearchQuery{Type: "Goal", Tenancy: ten, Compartment: compartment}
				a, na := walk(q, "_count=3&_total=accurate&_id="+few+params)
				b, nb := walk(q, "_count=3&_total=accurate&_id="+many+params)
				if !slices.Equal(a, b) || na != nb || na != int64(len(a)) {
					t.Errorf("%+v %q %s: lookups %v (total %d), query %v (total %d)", ten, compartment, params, a, na, b, nb)
				}
			}
		}
	}
}
