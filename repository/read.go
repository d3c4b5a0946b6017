package repository

import (
	"context"
	"errors"
	"sort"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/service"
)

// Current implements service.Store. It is one lookup by _id, which
// FerretDB pushes down to SQLite (and the embedded server indexes); for
// a document a transaction marked pend, one more of the transaction's
// outcome (and if there is none, one more of the document), and if it
// committed, one of the version it wrote.
func (s *Store) Current(ctx context.Context, typ, id string) (service.Record, error) {
	c, done, err := s.readCurrent(ctx, typ, id)
	if err != nil {
		return service.Record{}, err
	}
	if c.Pend != nil {
		if done {
			// Committed, not yet rolled forward: the version it wrote is
			// current (its entry was claimed before the mark was set).
			var h historyDoc
			err := s.history(typ).FindOne(ctx, bson.D{{Key: "_id", Value: historyID(id, c.Pend.V)}}).Decode(&h)
			if err != nil {
				return service.Record{}, s.storageErr("read version", err)
			}
			return h.record(typ), nil
		}
	}
	if c.V == 0 {
		return service.Record{}, service.ErrNotFound // a transaction's placeholder
	}
	return c.record(typ), nil
}

func (s *Store) currentDoc(ctx context.Context, typ, id string) (currentDoc, error) {
	var c currentDoc
	err := s.current(typ).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return c, service.ErrNotFound
	}
	if err != nil {
		return c, s.storageErr("read current", err)
	}
	return c, nil
}

// Version implements service.Store: one lookup of the history entry, and
// for a pending entry one more, which decides whether that version was
// committed: of the current document for a single write, of the outcome
// for a transaction's.
func (s *Store) Version(ctx context.Context, typ, id string, v int) (service.Record, error) {
	var h historyDoc
	err := s.history(typ).FindOne(ctx, bson.D{{Key: "_id", Value: historyID(id, v)}}).Decode(&h)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return service.Record{}, service.ErrNotFound
	}
	if err != nil {
		return service.Record{}, s.storageErr("read version", err)
	}
	ok, err := s.visible(ctx, typ, h, nil)
	if err != nil {
		return service.Record{}, err
	}
	if !ok {
		return service.Record{}, service.ErrNotFound
	}
	return h.record(typ), nil
}

// visible reports whether history entry h is committed: a pending entry
// of a transaction is if the transaction's outcome is (memo, if not nil,
// keeps the outcomes read), one of a single write if the current document
// has reached its version.
func (s *Store) visible(ctx context.Context, typ string, h historyDoc, memo map[string]bool) (bool, error) {
	if h.State != pending {
		return true, nil
	}
	if h.Txn != "" {
		if done, ok := memo[h.Txn]; ok {
			return done, nil
		}
		done, err := s.entryCommitted(ctx, typ, h)
		if err != nil {
			return false, err
		}
		if memo != nil {
			memo[h.Txn] = done
		}
		return done, nil
	}
	c, err := s.currentDoc(ctx, typ, h.RID)
	if errors.Is(err, service.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return c.V >= h.V, nil
}

// History implements service.Store. A type or system history is read
// consistently (see consistently): a transaction that commits while it
// is read makes it read again.
func (s *Store) History(ctx context.Context, q service.HistoryQuery) ([]service.Record, error) {
	if q.ID != "" {
		return s.instanceHistory(ctx, q)
	}
	var read []string // the types read; nil: all
	switch {
	case q.Type != "":
		read = []string{q.Type}
	case q.Types != nil:
		read = q.Types
	}
	var out []service.Record
	err := s.consistently(ctx, false, read, func() error {
		var err error
		out, err = s.history1(ctx, q)
		return err
	})
	return out, err
}

// history1 reads one type or system history.
func (s *Store) history1(ctx context.Context, q service.HistoryQuery) ([]service.Record, error) {
	types := []string{q.Type}
	if q.Type == "" {
		types = fhir.TypeNames()
		if q.Types != nil {
			types = q.Types
		}
	}
	var all []service.Record
	for _, typ := range types {
		if _, ok := fhir.Types[typ]; !ok || nothingFor(typ, q.Tenancy) {
			continue
		}
		recs, err := s.typeHistory(ctx, typ, q)
		if err != nil {
			return nil, err
		}
		all = append(all, recs...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Key().Less(all[j].Key()) })
	if len(all) > q.Count+1 {
		all = all[:q.Count+1]
	}
	return all, nil
}

// instanceHistory reads versions newest first by _id, one point lookup
// each, which FerretDB serves from the index rather than by a scan.
func (s *Store) instanceHistory(ctx context.Context, q service.HistoryQuery) ([]service.Record, error) {
	c, err := s.Current(ctx, q.Type, q.ID)
	if err != nil {
		return nil, err
	}
	v := c.Version
	if q.After != nil {
		v = min(v, q.After.Version-1)
	}
	var recs []service.Record
	for ; v >= 1 && len(recs) < q.Count+1; v-- {
		var h historyDoc
		err := s.history(q.Type).FindOne(ctx, bson.D{{Key: "_id", Value: historyID(q.ID, v)}}).Decode(&h)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue // cannot happen unless removed by hand
		}
		if err != nil {
			return nil, s.storageErr("read history", err)
		}
		if !q.Since.IsZero() && h.LU.Before(q.Since) {
			break
		}
		if rec := h.record(q.Type); q.Tenancy.Allows(rec) {
			recs = append(recs, rec)
		}
	}
	return recs, nil
}

// typeHistory reads one type's entries after q.After in history order.
func (s *Store) typeHistory(ctx context.Context, typ string, q service.HistoryQuery) ([]service.Record, error) {
	filter := tenancyFilter(typ, q.Tenancy)
	if !q.Since.IsZero() {
		filter = append(filter, bson.E{Key: "lu", Value: bson.D{{Key: "$gte", Value: q.Since}}})
	}
	after := q.After
	var recs []service.Record
	memo := map[string]bool{}
	for {
		f := filter
		if after != nil {
			if k := afterFilter(typ, *after); k != nil {
				f = append(f[:len(f):len(f)], bson.E{Key: "$or", Value: k})
			} else {
				return recs, nil
			}
		}
		cur, err := s.history(typ).Find(ctx, f, options.Find().
			SetSort(bson.D{{Key: "lu", Value: -1}, {Key: "rid", Value: -1}, {Key: "v", Value: -1}}).
			SetLimit(int64(q.Count+1-len(recs))))
		if err != nil {
			return nil, s.storageErr("read history", err)
		}
		var docs []historyDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, s.storageErr("read history", err)
		}
		dropped := false
		for _, h := range docs {
			ok, err := s.visible(ctx, typ, h, memo)
			if err != nil {
				return nil, err
			}
			if !ok {
				dropped = true // not committed: invisible
				continue
			}
			recs = append(recs, h.record(typ))
		}
		if !dropped || len(docs) == 0 || len(recs) >= q.Count+1 {
			return recs, nil
		}
		k := docs[len(docs)-1].record(typ).Key()
		after = &k
	}
}

// afterFilter is the $or of the conditions under which an entry of type
// typ sorts after k; nil when none can.
func afterFilter(typ string, k service.HistoryKey) bson.A {
	or := bson.A{bson.D{{Key: "lu", Value: bson.D{{Key: "$lt", Value: k.LastUpdated}}}}}
	switch {
	case typ < k.Type:
		or = append(or, bson.D{{Key: "lu", Value: k.LastUpdated}})
	case typ == k.Type:
		or = append(or,
			bson.D{{Key: "lu", Value: k.LastUpdated}, {Key: "rid", Value: bson.D{{Key: "$lt", Value: k.ID}}}},
			bson.D{{Key: "lu", Value: k.LastUpdated}, {Key: "rid", Value: k.ID}, {Key: "v", Value: bson.D{{Key: "$lt", Value: k.Version}}}})
	}
	return or
}

// nothingFor reports whether t can see nothing of typ: a caller without a
// board who is not a national reader sees no board's resources (and never
// those stored without a board).
func nothingFor(typ string, t service.Tenancy) bool {
	return !fhir.IsShared(typ) && !t.AllBoards && t.Board == ""
}

// tenancyFilter is the query restriction of t on typ: the board and the
// patient compartment. Shared types have neither.
func tenancyFilter(typ string, t service.Tenancy) bson.D {
	if fhir.IsShared(typ) {
		return bson.D{}
	}
	f := bson.D{}
	if !t.AllBoards {
		f = append(f, bson.E{Key: "board", Value: t.Board})
	}
	if t.Patient != "" {
		f = append(f, bson.E{Key: "pat", Value: t.Patient})
	}
	return f
}
