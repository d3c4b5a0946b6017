package repository

import (
	"context"
	"errors"
	"sync/atomic"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/matcare/matcare/fhir"
)

type repairCounter struct{ n atomic.Int64 }

func (c *repairCounter) add(n int64) { c.n.Add(n) }

// Repairs returns how many interrupted writes this Store rolled forward.
func (s *Store) Repairs() int64 { return s.repairs.n.Load() }

// Repair finishes every transaction whose journal entry is older than
// StaleAfter (rolled forward if committed, undone otherwise) and rolls
// forward every pending history entry of a single write older than
// StaleAfter (all of them if all is set: only safe when no other process
// writes), and returns how many writes and transactions it completed.
func (s *Store) Repair(ctx context.Context, all bool) (int, error) {
	n := 0
	js, err := s.journals(ctx)
	if err != nil {
		return n, err
	}
	for _, j := range js {
		if !all && s.now().Sub(j.Started) < s.opts.StaleAfter {
			continue
		}
		before := s.repairs.n.Load()
		if err := s.repairTxn(ctx, j.ID, nil); errors.Is(err, errRepairBusy) {
			continue
		} else if err != nil {
			s.log.WarnContext(ctx, "repair failed", "txn", j.ID, "err", err)
			continue
		}
		n += int(s.repairs.n.Load() - before)
	}
	for _, typ := range fhir.TypeNames() {
		cur, err := s.history(typ).Find(ctx, bson.D{{Key: "state", Value: pending}})
		if err != nil {
			return n, s.storageErr("find pending", err)
		}
		var docs []historyDoc
		if err := cur.All(ctx, &docs); err != nil {
			return n, s.storageErr("find pending", err)
		}
		for _, h := range docs {
			if !all && s.now().Sub(h.Claimed) < s.opts.StaleAfter {
				continue
			}
			before := s.repairs.n.Load()
			if h.Txn != "" {
				// A transaction's claim, its journal entry repaired above or
				// live; one without (left by a fault) is settled alone.
				err := s.journal().FindOne(ctx, bson.D{{Key: "_id", Value: h.Txn}}).Err()
				if !errors.Is(err, mongo.ErrNoDocuments) {
					continue
				}
				if err := s.repairTxn(ctx, h.Txn, &txnEntry{Type: typ, ID: h.RID, V: h.V}); err != nil && !errors.Is(err, errRepairBusy) {
					s.log.WarnContext(ctx, "repair failed", "txn", h.Txn, "err", err)
				}
				n += int(s.repairs.n.Load() - before)
				continue
			}
			if err := s.rollForward(ctx, typ, h); errors.Is(err, errRepairBusy) {
				continue
			} else if err != nil {
				s.log.WarnContext(ctx, "repair failed", "type", typ, "id", h.RID, "version", h.V, "err", err)
				continue
			}
			n += int(s.repairs.n.Load() - before)
		}
	}
	return n, nil
}
