package repository

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
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
	// outcomeCollection holds each transaction's outcome; its unique _id
	// decides a commit racing an abort.
	outcomeCollection = "matcare_txn_outcome"
)

// Outcomes of finished transactions are kept outcomeRetention (readers
// that met a pend mark, and searches running while it committed, look
// them up), and purged at start-up and every purgeEvery.
const (
	outcomeRetention = time.Hour
	purgeEvery       = 10 * time.Minute
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

// outcomeDoc decides a transaction: the first one inserted wins.
type outcomeDoc struct {
	ID        string    `bson:"_id"`
	Committed bool      `bson:"committed"`
	At        time.Time `bson:"at"`
}

// pendMark on a current document names the transaction writing its next
// version.
type pendMark struct {
	Txn string `bson:"txn"`
	V   int    `bson:"v"`
}

func (s *Store) journal() *mongo.Collection  { return s.db.Collection(txnCollection) }
func (s *Store) outcomes() *mongo.Collection { return s.db.Collection(outcomeCollection) }

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
	return s.atomically(ctx, func(ctx context.Context) error {
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
			s.fail.reached(afterTxnClaim)
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
		s.fail.reached(afterTxnCommit)
		return nil
	})
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

// txnCommitted reports whether transaction txid has committed: false
// while it is undecided and when it was aborted.
func (s *Store) txnCommitted(ctx context.Context, txid string) (bool, error) {
	ok, _, err := s.outcome(ctx, txid)
	return ok, err
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
	if _, err := s.journal().DeleteOne(ctx, bson.D{{Key: "_id", Value: j.ID}}); err != nil {
		return s.storageErr("end transaction", err)
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
	if _, err := s.journal().DeleteOne(ctx, bson.D{{Key: "_id", Value: j.ID}}); err != nil {
		return s.storageErr("end transaction", err)
	}
	return nil
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
	c, err := s.currentDoc(ctx, typ, id)
	if errors.Is(err, service.ErrNotFound) {
		return nil
	}
	if err != nil || c.Pend == nil {
		return err
	}
	done, err := s.txnCommitted(ctx, c.Pend.Txn)
	if err != nil {
		return err
	}
	if done || prev != c.V {
		s.onPend(ctx, *c.Pend)
		return fmt.Errorf("%s/%s: transaction %s is writing version %d: %w", typ, id, c.Pend.Txn, c.Pend.V, service.ErrVersionConflict)
	}
	return nil
}

// consistently runs read, a search or a type or system history, so that
// it sees each transaction whole or not at all (without server
// transactions: with them, nothing is to do). Before read, when rolled is
// set, it waits while a committed transaction is rolling forward (rolling
// a stale one forward itself), so that every transaction committed before
// read starts is in the current documents whole. After read, it runs
// read again if a transaction committed meanwhile, which read may have
// seen in part. The transactions committed before and after are compared
// by id, not by time: no clock is trusted. It gives up with
// ErrUnavailable after the write timeout.
func (s *Store) consistently(ctx context.Context, rolled bool, read func() error) error {
	if s.transactions {
		return read()
	}
	deadline := s.now().Add(s.opts.WriteTimeout)
	backoff := time.Millisecond
	for {
		before, err := s.committedTxns(ctx)
		if err != nil {
			return err
		}
		busy := false
		if rolled {
			if busy, err = s.rollingForward(ctx, before); err != nil {
				return err
			}
		}
		if !busy {
			if err := read(); err != nil {
				return err
			}
			after, err := s.committedTxns(ctx)
			if err != nil {
				return err
			}
			fresh := false
			for id := range after {
				if !before[id] {
					fresh = true
					break
				}
			}
			if !fresh {
				return nil
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

// committedTxns are the ids of the committed transactions whose outcome
// is kept.
func (s *Store) committedTxns(ctx context.Context) (map[string]bool, error) {
	cur, err := s.outcomes().Find(ctx, bson.D{{Key: "committed", Value: true}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, s.storageErr("read transaction outcomes", err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.storageErr("read transaction outcomes", err)
	}
	out := make(map[string]bool, len(docs))
	for _, d := range docs {
		out[d.ID] = true
	}
	return out, nil
}

// rollingForward reports whether a transaction among committed still has
// its journal entry, and repairs those that are stale.
func (s *Store) rollingForward(ctx context.Context, committed map[string]bool) (bool, error) {
	if len(committed) == 0 {
		// Committed after the outcomes were read: read's post-check
		// sees it.
		return false, nil
	}
	js, err := s.journals(ctx)
	if err != nil {
		return false, err
	}
	busy := false
	for _, j := range js {
		if !committed[j.ID] {
			continue
		}
		busy = true
		if s.now().Sub(j.Started) >= s.opts.StaleAfter {
			if err := s.repairTxn(ctx, j.ID, nil); err != nil && !errors.Is(err, errRepairBusy) {
				s.log.WarnContext(ctx, "repair of a stale transaction failed", "txn", j.ID, "err", err)
			}
		}
	}
	return busy, nil
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

// lastPurge is when this process last purged outcomes (unix nanoseconds).
type purgeClock struct{ last atomic.Int64 }

// maybePurge purges outcomes if purgeEvery has passed since the last
// purge of this process.
func (s *Store) maybePurge(ctx context.Context) {
	now := s.now()
	last := s.purged.last.Load()
	if now.UnixNano()-last < int64(purgeEvery) || !s.purged.last.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	if n, err := s.purgeOutcomes(ctx); err != nil {
		s.log.WarnContext(ctx, "purge of transaction outcomes failed", "err", err)
	} else if n > 0 {
		s.log.InfoContext(ctx, "purged transaction outcomes", "count", n)
	}
}

// purgeOutcomes deletes the outcomes of finished transactions (no journal
// entry) older than outcomeRetention.
func (s *Store) purgeOutcomes(ctx context.Context) (int64, error) {
	js, err := s.journals(ctx)
	if err != nil {
		return 0, err
	}
	live := bson.A{}
	for _, j := range js {
		live = append(live, j.ID)
	}
	res, err := s.outcomes().DeleteMany(ctx, bson.D{
		{Key: "at", Value: bson.D{{Key: "$lt", Value: s.now().Add(-outcomeRetention)}}},
		{Key: "_id", Value: bson.D{{Key: "$nin", Value: live}}},
	})
	if err != nil {
		return 0, s.storageErr("purge transaction outcomes", err)
	}
	s.purged.last.Store(s.now().UnixNano())
	return res.DeletedCount, nil
}
