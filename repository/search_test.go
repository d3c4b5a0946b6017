package repository

import (
	"context"
	"encoding/json"
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
