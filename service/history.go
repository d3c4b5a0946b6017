package service

import (
	"context"
	"fmt"
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

// Search runs a basic search, returning up to q.Count+1 matches.
func (s *Resources) Search(ctx context.Context, q SearchQuery) ([]Record, error) {
	a, err := access(ctx)
	if err != nil {
		return nil, err
	}
	q.Tenancy = a.tenancy()
	if err := checkTypeID(q.Type, "x"); err != nil {
		return nil, err
	}
	recs, err := s.store.Search(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", q.Type, err)
	}
	return recs, nil
}

// Count returns the number of matches of q.
func (s *Resources) Count(ctx context.Context, q SearchQuery) (int64, error) {
	a, err := access(ctx)
	if err != nil {
		return 0, err
	}
	q.Tenancy = a.tenancy()
	n, err := s.store.Count(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", q.Type, err)
	}
	return n, nil
}
