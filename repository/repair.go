package repository

import (
	"context"
	"errors"
	"sync/atomic"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/matcare/matcare/fhir"
)

type repairCounter struct{ n atomic.Int64 }

func (c *repairCounter) add(n int64) { c.n.Add(n) }

// Repairs returns how many interrupted writes this Store rolled forward.
func (s *Store) Repairs() int64 { return s.repairs.n.Load() }

// Repair rolls forward every pending history entry older than StaleAfter
// (all of them if all is set: only safe when no other process writes)
// and returns how many it completed.
func (s *Store) Repair(ctx context.Context, all bool) (int, error) {
	n := 0
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
