package repository

import (
	"context"
	"net/url"
	"testing"

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
