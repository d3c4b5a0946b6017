package repository

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/service"
)

// Collections of the transaction protocol (see the package comment).
const (
	// txnCollection is the journal: one entry per live transaction.
	txnCollection = "matcare_txn"
	// outcomeCollection holds the outcome of each live transaction; its
	// unique _id decides a commit racing an abort.
	outcomeCollection = "matcare_txn_outcome"
	// slotCollection holds commit slots: each transaction takes the next
	// one of the minute before its commit point, so that a read can tell
	// by point lookups whether any transaction committed while it ran.
	slotCollection = "matcare_txn_slot"
)

// Commit slots are kept slotRetention, and purged at start-up and every
// purgeEvery; a consistent read lasting more than half of slotRetention
// cannot be checked and fails as unavailable.
const (
	slotRetention = 30 * time.Minute
	purgeEvery    = 5 * time.Minute
)

// txnEntry is one write of a transaction, as its journal lists it.
type txnEntry struct {
	Type string `bson:"type"`
	ID   string `bson:"id"`
	V    int    `bson:"v"` // the version written; the previous one is V-1
}

func (e txnEntry) hid() string    { return historyID(e.ID, e.V) }
func (e txnEntry) String() string { return e.Type + "/" + e.hid() }

// journalDoc is the journal entry of a transaction that has not finished.
type journalDoc struct {
	ID      string     `bson:"_id"` // the transaction id
	Started time.Time  `bson:"started"`
	Entries []txnEntry `bson:"entries"`
}

// outcomeDoc decides a transaction: the first one inserted wins. It is
// deleted once the transaction has finished (after its journal entry).
type outcomeDoc struct {
	ID        string    `bson:"_id"`
	Committed bool      `bson:"committed"`
	At        time.Time `bson:"at"`
}

// slotDoc is commit slot n of minute b, _id "<b>/<n>": the slots of a
// minute are always 1..N, each taken by one insert.
type slotDoc struct {
	ID    string    `bson:"_id"`
	Txn   string    `bson:"txn"`
	Types []string  `bson:"types"`
	At    time.Time `bson:"at"`
}

func slotID(b int64, n int) string { return strconv.FormatInt(b, 10) + "/" + strconv.Itoa(n) }

// minuteOf is the minute a commit slot taken at t belongs to.
func minuteOf(t time.Time) int64 { return t.Unix() / 60 }

// slotCache holds, per minute, the highest commit slot this process knows
// to exist.
type slotCache struct {
	mu     sync.Mutex
	n      map[int64]int
	purged int64 // minutes before this one are purged (0: not yet)
	last   time.Time
}

// pendMark on a current document names the transaction writing its next
// version.
type pendMark struct {
	Txn string `bson:"txn"`
	V   int    `bson:"v"`
}

func (s *Store) journal() *mongo.Collection  { return s.db.Collection(txnCollection) }
func (s *Store) outcomes() *mongo.Collection { return s.db.Collection(outcomeCollection) }
func (s *Store) slotColl() *mongo.Collection { return s.db.Collection(slotCollection) }

// types are the types entries write, sorted, each once.
func types(entries []txnEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Type)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// touches reports whether a transaction writing written changes what a
// read of read sees (nil: every type).
func touches(written, read []string) bool {
	if read == nil {
		return true
	}
	for _, t := range written {
		if slices.Contains(read, t) {
			return true
		}
	}
	return false
}

// conflict is ErrVersionConflict naming the entry e.
func conflict(e txnEntry, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", e, fmt.Sprintf(format, args...), service.ErrVersionConflict)
}

// Commit implements service.Store: with server transactions, every write
// inside one; without, by the journal protocol of the package comment.
func (s *Store) Commit(ctx context.Context, writes []service.Write) error {
	if len(writes) == 0 {
		return nil
	}
	writes = slices.Clone(writes)
	// One order for every transaction: of two that want the same
	// resources, the first to claim the first of them goes on.
	slices.SortFunc(writes, func(a, b service.Write) int {
		return cmp.Or(cmp.Compare(a.Rec.Type, b.Rec.Type), cmp.Compare(a.Rec.ID, b.Rec.ID))
	})
	for i, w := range writes {
		r := w.Rec
		if _, ok := fhir.Types[r.Type]; !ok {
			return fmt.Errorf("commit %s/%s: type not served", r.Type, r.ID)
		}
		if r.Version != w.Prev+1 || w.Prev < 0 {
			return fmt.Errorf("commit %s/%s: version %d does not follow %d", r.Type, r.ID, r.Version, w.Prev)
		}
		if i > 0 && writes[i-1].Rec.Type == r.Type && writes[i-1].Rec.ID == r.ID {
			return fmt.Errorf("commit %s/%s: the resource is written twice", r.Type, r.ID)
		}
	}
	txid := rand.Text()
	started := s.now()
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	if s.transactions {
		return s.commitInTransaction(ctx, txid, started, writes)
	}
	return s.commitJournaled(ctx, txid, started, writes)
}

// commitInTransaction stores the writes inside one server transaction:
// each history entry inserted (committed: nobody sees it before the
// transaction commits), each current document inserted or replaced fenced
// on its previous version.
func (s *Store) commitInTransaction(ctx context.Context, txid string, started time.Time, writes []service.Write) error {
	err := s.atomically(ctx, func(ctx context.Context) error {
		for _, w := range writes {
			e := txnEntry{Type: w.Rec.Type, ID: w.Rec.ID, V: w.Rec.Version}
			h := toHistory(w.Rec, started)
			h.State, h.Txn = committed, txid
			if _, err := s.history(e.Type).InsertOne(ctx, h); err != nil {
				if mongo.IsDuplicateKeyError(err) {
					return conflict(e, "version taken")
				}
				return s.storageErr("claim version", err)
			}
			cur := s.currentOf(e.Type, h)
			if w.Prev == 0 {
				if _, err := s.current(e.Type).InsertOne(ctx, cur); err != nil {
					if mongo.IsDuplicateKeyError(err) {
						return conflict(e, "the resource exists")
					}
					return s.storageErr("insert current", err)
				}
				continue
			}
			res, err := s.current(e.Type).ReplaceOne(ctx, bson.D{{Key: "_id", Value: e.ID}, {Key: "v", Value: w.Prev}}, cur)
			if err != nil {
				return s.storageErr("replace current", err)
			}
			if res.MatchedCount == 0 {
				return conflict(e, "the current version is not %d", w.Prev)
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, service.ErrVersionConflict) && !errors.Is(err, service.ErrUnavailable) {
		return s.storageErr("commit transaction "+txid, err)
	}
	return err
}

// commitJournaled runs the journal protocol; ctx ends at the write
// timeout, after which this process writes nothing of the transaction
// (repair takes over after StaleAfter).
func (s *Store) commitJournaled(ctx context.Context, txid string, started time.Time, writes []service.Write) error {
	j := journalDoc{ID: txid, Started: started}
	for _, w := range writes {
		j.Entries = append(j.Entries, txnEntry{Type: w.Rec.Type, ID: w.Rec.ID, V: w.Rec.Version})
	}
	deadline := started.Add(s.opts.WriteTimeout)
	if _, err := s.journal().InsertOne(ctx, j); err != nil {
		return s.storageErr("begin transaction", err)
	}
	s.fail.reached(afterJournal)
	claimed, err := s.prepare(ctx, j, writes)
	if err != nil {
		if errors.Is(err, service.ErrVersionConflict) && !s.now().After(deadline) {
			// A certain failure: every write sent has landed, so the
			// transaction can be undone now. After any other error a
			// write may still land; repair undoes it after StaleAfter.
			if cerr := s.cleanupTxn(ctx, j, deadline); cerr != nil {
				s.log.WarnContext(ctx, "aborted transaction left for repair", "txn", txid, "err", cerr)
			}
		}
		return err
	}
	if err := s.takeSlot(ctx, j); err != nil {
		return err
	}
	s.fail.reached(afterTxnSlot)
	if s.now().After(deadline) {
		return fmt.Errorf("transaction %s: %w: %w", txid, service.ErrUnavailable, errTooLate)
	}
	committed, err := s.decide(ctx, txid, true)
	if err != nil {
		return fmt.Errorf("transaction %s: outcome unknown, repair decides: %w", txid, err)
	}
	if !committed {
		// A repairer aborted it first: possible only past the deadline.
		return fmt.Errorf("transaction %s: %w: %w", txid, service.ErrUnavailable, errTooLate)
	}
	s.fail.reached(afterTxnCommit)
	if err := s.rollForwardTxn(ctx, j, claimed, deadline); err != nil {
		// Committed: readers see it already; repair finishes the rest.
		s.log.WarnContext(ctx, "committed transaction left to roll forward", "txn", txid, "err", err)
	}
	s.maybePurge(ctx)
	return nil
}

// prepare claims every write's version and marks its current document
// pend (steps 2 and 3), and returns the claimed versions (in the order
// of writes). The claims of each type are one ordered InsertMany, as are
// the placeholders of each type's new resources: on FerretDB one storage
// commit for each instead of one per write. An ordered insert stops at
// its first duplicate, so every claim (placeholder) before it is held
// and none after it is, as when claiming one by one; cleanupTxn undoes
// either. Only the marks of existing resources, each a read and a check,
// go one by one. Every claim still precedes every mark.
func (s *Store) prepare(ctx context.Context, j journalDoc, writes []service.Write) ([]historyDoc, error) {
	hs := make([]historyDoc, len(writes))
	for i, w := range writes {
		hs[i] = toHistory(w.Rec, j.Started)
		hs[i].Txn = j.ID
	}
	for lo, hi := range typeRuns(writes) {
		docs := make([]any, 0, hi-lo)
		for _, h := range hs[lo:hi] {
			docs = append(docs, h)
		}
		typ := writes[lo].Rec.Type
		if _, err := s.history(typ).InsertMany(ctx, docs); err != nil {
			if k, dup := duplicateAt(err); dup {
				w := writes[lo+k].Rec
				s.onClaimTaken(ctx, typ, hs[lo+k].ID)
				return nil, conflict(txnEntry{Type: typ, ID: w.ID, V: w.Version}, "version taken")
			}
			return nil, s.storageErr("claim version", err)
		}
		for range docs {
			s.fail.reached(afterTxnClaim)
		}
	}
	for lo, hi := range typeRuns(writes) {
		var docs []any
		var fresh []int // the index in writes of each placeholder
		for i := lo; i < hi; i++ {
			if writes[i].Prev == 0 {
				docs = append(docs, placeholder(j.ID, writes[i]))
				fresh = append(fresh, i)
			}
		}
		if len(docs) == 0 {
			continue
		}
		typ := writes[lo].Rec.Type
		if _, err := s.current(typ).InsertMany(ctx, docs); err != nil {
			if k, dup := duplicateAt(err); dup {
				w := writes[fresh[k]].Rec
				return nil, conflict(txnEntry{Type: typ, ID: w.ID, V: w.Version}, "the resource exists")
			}
			return nil, s.storageErr("mark pend", err)
		}
		for range docs {
			s.fail.reached(afterPend)
		}
	}
	for _, w := range writes {
		if w.Prev == 0 {
			continue
		}
		if err := s.markPend(ctx, j.ID, w); err != nil {
			return nil, err
		}
		s.fail.reached(afterPend)
	}
	return hs, nil
}

// typeRuns yields the [lo, hi) runs of writes (sorted by type) that have
// one type.
func typeRuns(writes []service.Write) func(yield func(lo, hi int) bool) {
	return func(yield func(lo, hi int) bool) {
		for lo := 0; lo < len(writes); {
			hi := lo + 1
			for hi < len(writes) && writes[hi].Rec.Type == writes[lo].Rec.Type {
				hi++
			}
			if !yield(lo, hi) {
				return
			}
			lo = hi
		}
	}
}

// duplicateAt reports whether err is a duplicate key error, and the
// index in the InsertMany of the document that met it (0 if the error
// does not say).
func duplicateAt(err error) (int, bool) {
	if !mongo.IsDuplicateKeyError(err) {
		return 0, false
	}
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) {
		for _, we := range bwe.WriteErrors {
			if mongo.IsDuplicateKeyError(we.WriteError) {
				return we.Index, true
			}
		}
	}
	return 0, true
}

// placeholder is the current document of w, a new resource, while
// transaction txid writes it: deleted, version 0, so that no read or
// search takes it for a resource.
func placeholder(txid string, w service.Write) currentDoc {
	return currentDoc{ID: w.Rec.ID, Deleted: true, Board: w.Rec.Board, Pend: &pendMark{Txn: txid, V: w.Rec.Version},
		Index: indexFields{SV: indexVersion}}
}

// markPend marks the current document of w, an existing resource, pend
// (a new one gets a placeholder: see prepare). Holding the claim of w's
// version, this transaction is the only writer of the document until it
// ends.
func (s *Store) markPend(ctx context.Context, txid string, w service.Write) error {
	e := txnEntry{Type: w.Rec.Type, ID: w.Rec.ID, V: w.Rec.Version}
	mark := &pendMark{Txn: txid, V: e.V}
	c, err := s.currentDoc(ctx, e.Type, e.ID)
	if errors.Is(err, service.ErrNotFound) {
		return conflict(e, "the resource does not exist")
	}
	if err != nil {
		return err
	}
	if c.Pend != nil {
		s.onPend(ctx, *c.Pend)
		return conflict(e, "transaction %s is writing version %d", c.Pend.Txn, c.Pend.V)
	}
	if c.V != w.Prev {
		return conflict(e, "the current version is %d, not %d", c.V, w.Prev)
	}
	if _, err := s.current(e.Type).UpdateOne(ctx, bson.D{{Key: "_id", Value: e.ID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "pend", Value: mark}}}}); err != nil {
		return s.storageErr("mark pend", err)
	}
	return nil
}

// takeSlot takes the next commit slot of the current minute for j.
func (s *Store) takeSlot(ctx context.Context, j journalDoc) error {
	b := minuteOf(s.now())
	s.slots.mu.Lock()
	n := s.slots.n[b]
	s.slots.mu.Unlock()
	for {
		_, err := s.slotColl().InsertOne(ctx, slotDoc{ID: slotID(b, n+1), Txn: j.ID, Types: types(j.Entries), At: s.now()})
		if err == nil {
			s.knowSlot(b, n+1)
			return nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return s.storageErr("take commit slot", err)
		}
		if n, err = s.highestSlot(ctx, b); err != nil {
			return err
		}
	}
}

// knowSlot records that slot n of minute b exists.
func (s *Store) knowSlot(b int64, n int) {
	s.slots.mu.Lock()
	defer s.slots.mu.Unlock()
	if s.slots.n == nil {
		s.slots.n = map[int64]int{}
	}
	if n > s.slots.n[b] {
		s.slots.n[b] = n
	}
	for k := range s.slots.n {
		if k < b-int64(slotRetention/time.Minute) {
			delete(s.slots.n, k)
		}
	}
}

// highestSlot returns the number of commit slots of minute b, by point
// lookups from the highest known: the next, then galloping and bisecting.
func (s *Store) highestSlot(ctx context.Context, b int64) (int, error) {
	s.slots.mu.Lock()
	lo := s.slots.n[b]
	s.slots.mu.Unlock()
	exists := func(n int) (bool, error) {
		err := s.slotColl().FindOne(ctx, bson.D{{Key: "_id", Value: slotID(b, n)}},
			options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
		if errors.Is(err, mongo.ErrNoDocuments) {
			return false, nil
		}
		if err != nil {
			return false, s.storageErr("read commit slot", err)
		}
		return true, nil
	}
	// lo exists (or is 0); find hi > lo that does not.
	hi := lo + 1
	for step := 1; ; step *= 2 {
		ok, err := exists(hi)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		lo, hi = hi, hi+step
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := exists(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	s.knowSlot(b, lo)
	return lo, nil
}

// decide inserts the outcome of transaction txid (the commit point when
// commit is set) unless one exists, and reports the outcome that holds.
func (s *Store) decide(ctx context.Context, txid string, commit bool) (bool, error) {
	_, err := s.outcomes().InsertOne(ctx, outcomeDoc{ID: txid, Committed: commit, At: s.now()})
	if err == nil {
		return commit, nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		// The insert may have landed, or land later: read what holds,
		// and if nothing does yet, leave the decision to repair.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.WriteTimeout)
		defer cancel()
		if ok, found, rerr := s.outcome(rctx, txid); rerr == nil && found {
			return ok, nil
		}
		return false, s.storageErr("decide transaction", err)
	}
	ok, found, err := s.outcome(ctx, txid)
	if err != nil {
		return false, err
	}
	if !found {
		return false, fmt.Errorf("transaction %s: outcome vanished", txid)
	}
	return ok, nil
}

// outcome reads the outcome of transaction txid, if any.
func (s *Store) outcome(ctx context.Context, txid string) (committed, found bool, err error) {
	var o outcomeDoc
	err = s.outcomes().FindOne(ctx, bson.D{{Key: "_id", Value: txid}}).Decode(&o)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, false, nil
	}
	if err != nil {
		return false, false, s.storageErr("read transaction outcome", err)
	}
	return o.Committed, true, nil
}

// readCurrent reads the current document of typ/id, and reports whether
// the transaction that marked it pend (if one did) has committed: readers
// then see the version it marked. An outcome is deleted only after the
// transaction's marks, so a missing one means that the transaction has
// not decided, if the mark is still there when the document is read
// again, and otherwise that the mark is gone: the second reading is used.
func (s *Store) readCurrent(ctx context.Context, typ, id string) (currentDoc, bool, error) {
	c, err := s.currentDoc(ctx, typ, id)
	for range 5 {
		if err != nil || c.Pend == nil {
			return c, false, err
		}
		ok, found, err := s.outcome(ctx, c.Pend.Txn)
		if err != nil || found {
			return c, ok, err
		}
		again, err := s.currentDoc(ctx, typ, id)
		if err == nil && again.Pend != nil && *again.Pend == *c.Pend {
			return c, false, nil
		}
		c = again
	}
	return c, false, fmt.Errorf("%s/%s: transactions kept writing it while read: %w", typ, id, service.ErrUnavailable)
}

// entryCommitted reports whether pending history entry h of a
// transaction is committed: if its outcome says so or, the outcome being
// deleted after the transaction's entries were marked committed or
// removed, if the entry reads committed again.
func (s *Store) entryCommitted(ctx context.Context, typ string, h historyDoc) (bool, error) {
	ok, found, err := s.outcome(ctx, h.Txn)
	if err != nil || found {
		return ok, err
	}
	var again historyDoc
	err = s.history(typ).FindOne(ctx, bson.D{{Key: "_id", Value: h.ID}}).Decode(&again)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, s.storageErr("read history", err)
	}
	return again.State == committed, nil
}

// rollForwardTxn completes committed transaction j: each current
// document still marked pend by j is replaced by its new version, each
// history entry marked committed, then the journal entry deleted. It
// writes nothing after deadline.
//
// own, if not nil, are the versions this process claimed for j (in the
// order of j.Entries): the committer rolls its own transaction forward
// without reading anything back. Until it replaces a document marked
// pend by j, nobody else writes that document: a writer of the version j
// claimed finds the claim taken, a writer of the next one waits
// (blockedByTxn), another transaction finds the mark, and repair waits
// for StaleAfter, past the deadline. On MongoDB the replace is fenced on
// the mark all the same. A repairer (own nil) reads each document first:
// an interrupted roll forward may have been followed by other writes.
func (s *Store) rollForwardTxn(ctx context.Context, j journalDoc, own []historyDoc, deadline time.Time) error {
	for i, e := range j.Entries {
		var err error
		if own != nil {
			err = s.replacePend(ctx, j.ID, e, own[i], deadline)
		} else {
			err = s.rollForwardEntry(ctx, j.ID, e, deadline)
		}
		if err != nil {
			return err
		}
		if err := s.markCommitted(ctx, e.Type, e.hid()); err != nil {
			return s.storageErr("mark committed", err)
		}
		s.fail.reached(afterRollforward)
	}
	if err := s.endTxn(ctx, j); err != nil {
		return err
	}
	s.fail.reached(afterTxnDone)
	return nil
}

// rollForwardEntry replaces e's current document by the version
// transaction txid wrote, if the document is still marked pend by txid.
func (s *Store) rollForwardEntry(ctx context.Context, txid string, e txnEntry, deadline time.Time) error {
	c, err := s.currentDoc(ctx, e.Type, e.ID)
	if err != nil {
		return err
	}
	if c.Pend == nil || c.Pend.Txn != txid {
		return nil
	}
	var h historyDoc
	if err := s.history(e.Type).FindOne(ctx, bson.D{{Key: "_id", Value: e.hid()}}).Decode(&h); err != nil {
		return s.storageErr("read history", err)
	}
	return s.replacePend(ctx, txid, e, h, deadline)
}

// replacePend replaces e's current document, marked pend by transaction
// txid, by h, the version txid wrote: on FerretDB by _id alone (any other
// filter scans), elsewhere only while the mark is there.
func (s *Store) replacePend(ctx context.Context, txid string, e txnEntry, h historyDoc, deadline time.Time) error {
	if s.now().After(deadline) {
		return errTooLate
	}
	filter := bson.D{{Key: "_id", Value: e.ID}}
	if !s.ferret {
		filter = append(filter, bson.E{Key: "pend.txn", Value: txid})
	}
	res, err := s.current(e.Type).ReplaceOne(ctx, filter, s.currentOf(e.Type, h))
	if err != nil {
		return s.storageErr("roll forward", err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("roll forward %s: the current document is no longer marked by transaction %s", e, txid)
	}
	return nil
}

// endTxn deletes the journal entry of finished transaction j, then its
// outcome (which readers no longer need: the marks and pending entries it
// decided are gone). An orphan's outcome (j made up for one entry, with
// no start) is kept: it decides its other entries.
func (s *Store) endTxn(ctx context.Context, j journalDoc) error {
	if j.Started.IsZero() {
		return nil
	}
	id := bson.D{{Key: "_id", Value: j.ID}}
	if _, err := s.journal().DeleteOne(ctx, id); err != nil {
		return s.storageErr("end transaction", err)
	}
	if _, err := s.outcomes().DeleteOne(ctx, id); err != nil {
		return s.storageErr("end transaction", err)
	}
	return nil
}

// cleanupTxn undoes transaction j, which did not commit: first the pend
// marks and placeholders it left, then its claims (so that nobody can
// claim a version while its current document still carries the mark),
// then the journal entry. It checks each document before changing it
// (point reads: FerretDB scans for any other filter) and writes nothing
// after deadline.
func (s *Store) cleanupTxn(ctx context.Context, j journalDoc, deadline time.Time) error {
	late := func() error {
		if s.now().After(deadline) {
			return errTooLate
		}
		return nil
	}
	for _, e := range j.Entries {
		c, err := s.currentDoc(ctx, e.Type, e.ID)
		if errors.Is(err, service.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if c.Pend == nil || c.Pend.Txn != j.ID {
			continue
		}
		if err := late(); err != nil {
			return err
		}
		id := bson.D{{Key: "_id", Value: e.ID}}
		if c.V == 0 {
			_, err = s.current(e.Type).DeleteOne(ctx, id)
		} else {
			_, err = s.current(e.Type).UpdateOne(ctx, id, bson.D{{Key: "$unset", Value: bson.D{{Key: "pend", Value: ""}}}})
		}
		if err != nil {
			return s.storageErr("undo pend", err)
		}
	}
	for _, e := range j.Entries {
		var h historyDoc
		err := s.history(e.Type).FindOne(ctx, bson.D{{Key: "_id", Value: e.hid()}}).Decode(&h)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return s.storageErr("read claim", err)
		}
		if h.Txn != j.ID || h.State != pending {
			continue
		}
		if err := late(); err != nil {
			return err
		}
		if _, err := s.history(e.Type).DeleteOne(ctx, bson.D{{Key: "_id", Value: e.hid()}}); err != nil {
			return s.storageErr("undo claim", err)
		}
	}
	return s.endTxn(ctx, j)
}

// repairTxn finishes transaction txid for a process that stopped working
// on it: rolls it forward if it committed, and otherwise aborts it (an
// outcome inserted as aborted; if a commit won that race, it rolls
// forward) and undoes it. Repairers of one transaction take turns through
// a repair token, as rollForward's do. Without a journal entry (the
// transaction finished meanwhile) it does nothing, unless orphan names
// an entry of it found without one (only a fault can leave one), which
// it then settles alone, under a token of that entry: the journal entry
// is deleted last, so nobody repairs the whole transaction any more.
func (s *Store) repairTxn(ctx context.Context, txid string, orphan *txnEntry) error {
	var j journalDoc
	readJournal := func() (bool, error) {
		err := s.journal().FindOne(ctx, bson.D{{Key: "_id", Value: txid}}).Decode(&j)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return false, nil
		}
		if err != nil {
			return false, s.storageErr("read journal", err)
		}
		return true, nil
	}
	found, err := readJournal()
	if err != nil {
		return err
	}
	key := "txn/" + txid
	switch {
	case !found && orphan == nil:
		return nil
	case !found:
		key += "/" + orphan.String()
	}
	taken, err := s.takeRepairToken(ctx, key)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	if found {
		// It may have finished while the token was taken.
		if found, err = readJournal(); err != nil || !found {
			return err
		}
	} else {
		j = journalDoc{ID: txid, Entries: []txnEntry{*orphan}}
	}
	committed, err := s.decide(ctx, txid, false)
	if err != nil {
		return err
	}
	deadline := taken.Add(s.opts.WriteTimeout)
	if committed {
		err = s.rollForwardTxn(ctx, j, nil, deadline)
	} else {
		err = s.cleanupTxn(ctx, j, deadline)
	}
	if err != nil {
		return err
	}
	s.repairs.add(1)
	s.log.InfoContext(ctx, "repaired an interrupted transaction", "txn", txid, "committed", committed, "writes", len(j.Entries))
	return nil
}

// repairIfStale repairs transaction txid if its journal entry is older
// than StaleAfter.
func (s *Store) repairIfStale(ctx context.Context, txid string) {
	var j journalDoc
	if err := s.journal().FindOne(ctx, bson.D{{Key: "_id", Value: txid}}).Decode(&j); err != nil {
		return
	}
	if s.now().Sub(j.Started) < s.opts.StaleAfter {
		return
	}
	if err := s.repairTxn(ctx, txid, nil); err != nil && !errors.Is(err, errRepairBusy) {
		s.log.WarnContext(ctx, "repair of a stale transaction failed", "txn", txid, "err", err)
	}
}

// onPend is called by a writer that met a pend mark: it repairs the
// transaction if it is stale.
func (s *Store) onPend(ctx context.Context, p pendMark) { s.repairIfStale(ctx, p.Txn) }

// blockedByTxn is Put's check before it claims a version: a current
// document marked pend by a committed transaction is at the version the
// transaction wrote for every reader, so a writer whose prev is that
// version would claim the next one, and its replace could be undone by
// the roll forward. It waits (ErrVersionConflict: the service retries)
// until the roll forward is done.
func (s *Store) blockedByTxn(ctx context.Context, typ, id string, prev int) error {
	c, done, err := s.readCurrent(ctx, typ, id)
	if errors.Is(err, service.ErrNotFound) {
		return nil
	}
	if err != nil || c.Pend == nil {
		return err
	}
	if done || prev != c.V {
		s.onPend(ctx, *c.Pend)
		return fmt.Errorf("%s/%s: transaction %s is writing version %d: %w", typ, id, c.Pend.Txn, c.Pend.V, service.ErrVersionConflict)
	}
	return nil
}

// consistently runs fn, a search or a type or system history reading
// the types read (nil: all), so that it sees each transaction whole or
// not at all (without server transactions: with them, nothing is to do).
//
// Before fn it notes the commit slots of the minutes around now, then
// reads the journal. A transaction found there committed (its roll
// forward is under way) makes a search wait (rolled), and rolls it
// forward if it is stale; one not yet decided is watched. After fn, a
// commit slot taken since, or a watched transaction that committed or
// finished, of a transaction writing one of the types, makes it run
// again: it may have committed during fn. A transaction takes its slot
// after its journal entry is inserted and before its commit point, so
// every transaction that committed during fn is one of the two. It gives
// up with ErrUnavailable after the write timeout. Its cost is one read
// of the journal (live transactions only) and point lookups: four of
// commit slots, one per live transaction of the types, and one per slot
// taken meanwhile. Minutes are each process's clock: clocks are assumed
// to differ by less than a minute.
func (s *Store) consistently(ctx context.Context, rolled bool, read []string, fn func() error) error {
	if s.transactions {
		return fn()
	}
	deadline := s.now().Add(s.opts.WriteTimeout)
	backoff := time.Millisecond
	for {
		// The slots of this minute are counted; for its neighbours (where
		// only clocks a little apart take slots now) the highest this
		// process knows of serves: a slot taken before, unknown, only
		// makes fn run again.
		t0 := s.now()
		before := map[int64]int{}
		s.slots.mu.Lock()
		for b := minuteOf(t0) - 1; b <= minuteOf(t0)+1; b++ {
			before[b] = s.slots.n[b]
		}
		s.slots.mu.Unlock()
		n, err := s.highestSlot(ctx, minuteOf(t0))
		if err != nil {
			return err
		}
		before[minuteOf(t0)] = n
		js, err := s.journals(ctx)
		if err != nil {
			return err
		}
		busy := false
		var watched []string
		for _, j := range js {
			if !touches(types(j.Entries), read) {
				continue
			}
			ok, found, err := s.outcome(ctx, j.ID)
			switch {
			case err != nil:
				return err
			case !found:
				watched = append(watched, j.ID)
			case ok && rolled:
				busy = true
				if s.now().Sub(j.Started) >= s.opts.StaleAfter {
					if err := s.repairTxn(ctx, j.ID, nil); err != nil && !errors.Is(err, errRepairBusy) {
						s.log.WarnContext(ctx, "repair of a stale transaction failed", "txn", j.ID, "err", err)
					}
				}
			}
		}
		if !busy {
			if err := fn(); err != nil {
				return err
			}
			again, err := s.committedDuring(ctx, t0, before, watched, read)
			if err != nil || !again {
				return err
			}
		}
		if s.now().After(deadline) {
			if busy {
				return fmt.Errorf("a committed transaction is still rolling forward: %w", service.ErrUnavailable)
			}
			return fmt.Errorf("transactions kept committing during the read: %w", service.ErrUnavailable)
		}
		if busy {
			select {
			case <-ctx.Done():
				return s.storageErr("wait for a transaction", ctx.Err())
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 50*time.Millisecond)
		}
	}
}

// committedDuring reports whether a transaction writing one of the types
// read may have committed since t0: one that took a commit slot (before
// holds, per minute around t0, a number of slots that existed at t0), or
// one of watched (not decided at t0) that has committed or finished.
func (s *Store) committedDuring(ctx context.Context, t0 time.Time, before map[int64]int, watched, read []string) (bool, error) {
	t1 := s.now()
	if t1.Sub(t0) > slotRetention/2 {
		return false, fmt.Errorf("the read took %s, too long to check for transactions: %w", t1.Sub(t0).Round(time.Second), service.ErrUnavailable)
	}
	for b := minuteOf(t0) - 1; b <= minuteOf(t1)+1; b++ {
		n, err := s.highestSlot(ctx, b)
		if err != nil {
			return false, err
		}
		for k := before[b] + 1; k <= n; k++ {
			var sl slotDoc
			err := s.slotColl().FindOne(ctx, bson.D{{Key: "_id", Value: slotID(b, k)}}).Decode(&sl)
			if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
				return false, s.storageErr("read commit slot", err)
			}
			if err != nil || touches(sl.Types, read) {
				return true, nil
			}
		}
	}
	for _, txid := range watched {
		ok, found, err := s.outcome(ctx, txid)
		if err != nil {
			return false, err
		}
		if found {
			if ok {
				return true, nil
			}
			continue
		}
		err = s.journal().FindOne(ctx, bson.D{{Key: "_id", Value: txid}}).Err()
		if errors.Is(err, mongo.ErrNoDocuments) {
			return true, nil // finished: committed or not
		}
		if err != nil {
			return false, s.storageErr("read journal", err)
		}
	}
	return false, nil
}

// journals returns the journal entries.
func (s *Store) journals(ctx context.Context) ([]journalDoc, error) {
	cur, err := s.journal().Find(ctx, bson.D{})
	if err != nil {
		return nil, s.storageErr("read journal", err)
	}
	var js []journalDoc
	if err := cur.All(ctx, &js); err != nil {
		return nil, s.storageErr("read journal", err)
	}
	return js, nil
}

// maybePurge purges commit slots if purgeEvery has passed since this
// process last did.
func (s *Store) maybePurge(ctx context.Context) {
	s.slots.mu.Lock()
	due := s.now().Sub(s.slots.last) >= purgeEvery
	if due {
		s.slots.last = s.now()
	}
	s.slots.mu.Unlock()
	if !due {
		return
	}
	if err := s.purgeSlots(ctx); err != nil {
		s.log.WarnContext(ctx, "purge of commit slots failed", "err", err)
	}
}

// purgeSlots deletes the commit slots of the minutes older than
// slotRetention that this process has not purged yet, by point deletes
// (slot 1, 2, ... until one is missing).
func (s *Store) purgeSlots(ctx context.Context) error {
	end := minuteOf(s.now().Add(-slotRetention))
	s.slots.mu.Lock()
	from := s.slots.purged
	s.slots.mu.Unlock()
	if from == 0 {
		from = end - int64(purgeEvery/time.Minute)
	}
	for b := from; b < end; b++ {
		for n := 1; ; n++ {
			res, err := s.slotColl().DeleteOne(ctx, bson.D{{Key: "_id", Value: slotID(b, n)}})
			if err != nil {
				return s.storageErr("purge commit slots", err)
			}
			if res.DeletedCount == 0 {
				break
			}
		}
		s.slots.mu.Lock()
		s.slots.purged = b + 1
		s.slots.mu.Unlock()
	}
	return nil
}

// purgeAtStart deletes, when a Store opens, the commit slots older than
// slotRetention and the outcomes of finished transactions (those a
// process stopped before deleting): one query each.
func (s *Store) purgeAtStart(ctx context.Context) error {
	cutoff := s.now().Add(-slotRetention)
	if _, err := s.slotColl().DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: cutoff}}}}); err != nil {
		return s.storageErr("purge commit slots", err)
	}
	s.slots.mu.Lock()
	s.slots.purged = minuteOf(cutoff)
	s.slots.last = s.now()
	s.slots.mu.Unlock()
	js, err := s.journals(ctx)
	if err != nil {
		return err
	}
	live := bson.A{}
	for _, j := range js {
		live = append(live, j.ID)
	}
	if _, err := s.outcomes().DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$nin", Value: live}}}}); err != nil {
		return s.storageErr("purge transaction outcomes", err)
	}
	return nil
}
