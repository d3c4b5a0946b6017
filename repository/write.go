package repository

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/matcare/matcare/service"
)

// errTooLate stops a writer that reached its commit point after its write
// timeout: its claim may already be rolled forward by repair, and a late
// replace could move the current document backwards.
var errTooLate = errors.New("write timed out before its commit point; repair will complete it")

// Put implements service.Store with the protocol in the package comment.
func (s *Store) Put(ctx context.Context, rec service.Record, prev int) error {
	if rec.Version != prev+1 {
		return fmt.Errorf("put %s/%s: version %d does not follow %d", rec.Type, rec.ID, rec.Version, prev)
	}
	claimed := s.now()
	// The whole protocol must end within the write timeout; past it, the
	// claim is left for repair (see the package comment).
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	if !s.transactions {
		if err := s.blockedByTxn(ctx, rec.Type, rec.ID, prev); err != nil {
			return err
		}
	}
	return s.atomically(ctx, func(ctx context.Context) error {
		doc := toHistory(rec, claimed)
		if _, err := s.history(rec.Type).InsertOne(ctx, doc); err != nil {
			if mongo.IsDuplicateKeyError(err) {
				s.onClaimTaken(ctx, rec.Type, doc.ID)
				return fmt.Errorf("%s: %w", doc.ID, service.ErrVersionConflict)
			}
			return s.storageErr("claim version", err)
		}
		s.fail.reached(afterClaim)
		if s.now().Sub(claimed) > s.opts.WriteTimeout {
			return fmt.Errorf("%s: %w: %w", doc.ID, service.ErrUnavailable, errTooLate)
		}
		if err := s.replaceCurrent(ctx, rec.Type, doc, prev); err != nil {
			return err
		}
		s.fail.reached(afterCurrent)
		if err := s.markCommitted(ctx, rec.Type, doc.ID); err != nil {
			// The current document is the commit point: the write has
			// happened; repair marks the entry later.
			s.log.WarnContext(ctx, "history entry left pending", "type", rec.Type, "id", rec.ID, "version", rec.Version, "err", err)
		}
		s.fail.reached(afterCommit)
		return nil
	})
}

// replaceCurrent makes doc the current version. On MongoDB the replace is
// fenced on prev, so even a writer delayed past every timeout cannot move
// the document backwards; FerretDB evaluates such a filter by scanning
// and not atomically, so there the claim and the timeouts alone order the
// writers.
func (s *Store) replaceCurrent(ctx context.Context, typ string, doc historyDoc, prev int) error {
	cur := s.currentOf(typ, doc)
	coll := s.current(typ)
	var err error
	switch {
	case prev == 0:
		_, err = coll.InsertOne(ctx, cur)
		if mongo.IsDuplicateKeyError(err) {
			err = s.checkReached(ctx, typ, doc)
		}
	case s.ferret:
		_, err = coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: cur.ID}}, cur)
	default:
		var res *mongo.UpdateResult
		res, err = coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: cur.ID}, {Key: "v", Value: prev}}, cur)
		if err == nil && res.MatchedCount == 0 {
			err = s.checkReached(ctx, typ, doc)
		}
	}
	if err != nil {
		return s.storageErr("replace current", err)
	}
	return nil
}

// checkReached succeeds if the current document already has doc's
// version or a later one: repair rolled the claim forward first.
func (s *Store) checkReached(ctx context.Context, typ string, doc historyDoc) error {
	var cur currentDoc
	if err := s.current(typ).FindOne(ctx, bson.D{{Key: "_id", Value: doc.RID}}).Decode(&cur); err != nil {
		return err
	}
	if cur.V >= doc.V {
		return nil
	}
	return fmt.Errorf("%s: current is at version %d: %w", doc.ID, cur.V, service.ErrVersionConflict)
}

func (s *Store) markCommitted(ctx context.Context, typ, hid string) error {
	_, err := s.history(typ).UpdateOne(ctx, bson.D{{Key: "_id", Value: hid}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: committed}}}})
	return err
}

// onClaimTaken looks at the entry that holds a version another writer
// wanted, and rolls it forward if its writer has given up on it.
func (s *Store) onClaimTaken(ctx context.Context, typ, hid string) {
	if s.transactions {
		return // inside a transaction nobody sees a pending entry
	}
	var h historyDoc
	if err := s.history(typ).FindOne(ctx, bson.D{{Key: "_id", Value: hid}}).Decode(&h); err != nil {
		return
	}
	if h.State != pending || s.now().Sub(h.Claimed) < s.opts.StaleAfter {
		return
	}
	if h.Txn != "" {
		// A transaction's claim: its journal says what to do.
		err := s.repairTxn(ctx, h.Txn, &txnEntry{Type: typ, ID: h.RID, V: h.V})
		if err != nil && !errors.Is(err, errRepairBusy) {
			s.log.WarnContext(ctx, "repair of a stale transaction failed", "txn", h.Txn, "err", err)
		}
		return
	}
	if err := s.rollForward(ctx, typ, h); err != nil && !errors.Is(err, errRepairBusy) {
		s.log.WarnContext(ctx, "repair of a stale claim failed", "type", typ, "id", h.RID, "version", h.V, "err", err)
	}
}

// rollForward completes an interrupted write whose claim is h.
//
// Several processes may meet the same stale claim at once, and on
// FerretDB a filtered replace is not atomic, so repairers take turns: the
// one whose insert of a repair token for this claim succeeds does the
// work, under the same write timeout as a writer; the others report a
// conflict and retry. A token whose holder died goes stale like a claim,
// and the next attempt takes a new one.
func (s *Store) rollForward(ctx context.Context, typ string, h historyDoc) error {
	taken, err := s.takeRepairToken(ctx, typ+"/"+h.ID)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	var cur currentDoc
	err = s.current(typ).FindOne(ctx, bson.D{{Key: "_id", Value: h.RID}}).Decode(&cur)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		cur.V = 0
	case err != nil:
		return err
	}
	switch {
	case cur.V >= h.V:
		// The write reached its commit point; only the mark is missing.
	case cur.V == h.V-1:
		if s.now().Sub(taken) > s.opts.WriteTimeout {
			return errTooLate
		}
		if err := s.replaceCurrent(ctx, typ, h, cur.V); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%s: claim is %d versions ahead of the current document", h.ID, h.V-cur.V)
	}
	if err := s.markCommitted(ctx, typ, h.ID); err != nil {
		return err
	}
	s.repairs.add(1)
	s.log.InfoContext(ctx, "rolled an interrupted write forward", "type", typ, "id", h.RID, "version", h.V)
	return nil
}

// repairToken is held by the one process repairing a claim.
type repairToken struct {
	ID    string    `bson:"_id"` // <type>/<id>/<v>#<attempt> or txn/<txid>#<attempt>
	Taken time.Time `bson:"taken"`
}

// errRepairBusy: another process is repairing the claim right now.
var errRepairBusy = errors.New("another process is repairing this write")

// takeRepairToken inserts the next repair token for what key names (a
// claim "<type>/<id>/<v>", a transaction "txn/<id>") and returns when it
// was taken; errRepairBusy if a live token exists.
func (s *Store) takeRepairToken(ctx context.Context, key string) (time.Time, error) {
	coll := s.db.Collection(repairCollection)
	for attempt := 1; ; attempt++ {
		tok := repairToken{ID: fmt.Sprintf("%s#%d", key, attempt), Taken: s.now()}
		_, err := coll.InsertOne(ctx, tok)
		if err == nil {
			return tok.Taken, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return time.Time{}, s.storageErr("take repair token", err)
		}
		var held repairToken
		if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: tok.ID}}).Decode(&held); err != nil {
			return time.Time{}, s.storageErr("read repair token", err)
		}
		if s.now().Sub(held.Taken) < s.opts.StaleAfter {
			return time.Time{}, errRepairBusy
		}
	}
}

// storageErr wraps a driver error: a timeout or an unreachable server is
// ErrUnavailable (503); anything else stays a 500.
func (s *Store) storageErr(op string, err error) error {
	if mongo.IsTimeout(err) || mongo.IsNetworkError(err) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w: %w", op, service.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
