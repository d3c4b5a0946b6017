package service

import (
	"context"
	"fmt"
	"slices"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/search"
)

// History returns history entries in history order (newest first), up to
// q.Count+1 so the caller knows whether there is a next page.
func (s *Resources) History(ctx context.Context, q HistoryQuery) ([]Record, error) {
	a, err := access(ctx)
	if err != nil {
		return nil, err
	}
	q.Tenancy = a.tenancy()
	if q.Type != "" {
		if q.ID != "" {
			if err := checkTypeID(q.Type, q.ID); err != nil {
				return nil, err
			}
		} else if err := checkTypeID(q.Type, "x"); err != nil {
			return nil, err
		}
	}
	if q.ID != "" {
		// An instance that never existed has no history: 404, as HAPI.
		cur, err := s.store.Current(ctx, q.Type, q.ID)
		if err == nil && !a.Sees(cur) {
			err = ErrNotFound // another board's: exactly as if absent
		}
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", q.Type, q.ID, err)
		}
	}
	recs, err := s.store.History(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return recs, nil
}

// Search runs one page of a search. Every type the search reads besides
// the searched one (chains, _has) must be readable by the caller, or the
// search is forbidden; _include and _revinclude add only readable types;
// a system search covers the readable types of _type (all if absent).
func (s *Resources) Search(ctx context.Context, q SearchQuery) (SearchResult, error) {
	a, err := access(ctx)
	if err != nil {
		return SearchResult{}, err
	}
	q.Tenancy = a.tenancy()
	if q.Query == nil {
		q.Query = &search.Query{Type: q.Type, Count: search.DefaultCount}
	}
	readable := func(t string) bool { return t == q.Type || slices.Contains(a.Readable, t) }
	if q.Type != "" {
		if q.Type != AuditType {
			if err := checkTypeID(q.Type, "x"); err != nil {
				return SearchResult{}, err
			}
		} else if !a.Auditor {
			return SearchResult{}, fmt.Errorf("%w: searching the audit trail needs the auditor scope", ErrForbidden)
		}
	} else {
		q.Types = nil
		want := q.Query.Types
		if len(want) == 0 {
			want = fhir.TypeNames()
		}
		for _, t := range want {
			if _, ok := fhir.Types[t]; ok && readable(t) {
				q.Types = append(q.Types, t)
			}
		}
	}
	for _, c := range q.Query.Clauses {
		for _, l := range c.Chain {
			for _, t := range []string{l.From, l.To} {
				if t != "" && !readable(t) {
					return SearchResult{}, fmt.Errorf("%w: the search parameter %s reads %s resources, which the token's scopes do not allow", ErrForbidden, c.Key, t)
				}
			}
		}
	}
	q.Includable = nil
	for _, t := range append(fhir.TypeNames(), AuditType) {
		if readable(t) {
			q.Includable = append(q.Includable, t)
		}
	}
	res, err := s.store.Search(ctx, q)
	if err != nil {
		return SearchResult{}, fmt.Errorf("search %s: %w", q.Type, err)
	}
	return res, nil
}
