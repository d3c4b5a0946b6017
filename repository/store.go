// Package repository implements service.Store on MongoDB and on FerretDB
// (the embedded default), with one write protocol that is correct on
// both: each version is claimed by inserting its history entry under a
// unique _id, the only atomic compare-and-set FerretDB v1 has.
//
// # Layout
//
// Each resource type has two collections. "<Type>" holds the current
// version of each resource under _id = its id: version v, lastUpdated lu,
// deleted, the interaction method, the owning board, the id of the
// transaction that wrote it (txn), and the client's JSON as a string body
// (never re-encoded as BSON, which would lose decimal precision), with
// the extracted search values beside them as top-level fields, because
// FerretDB pushes no nested filter down. While a transaction writes its
// next version, the document also carries pend: {txn, v}; for a resource
// a transaction creates, the document is a placeholder until then: v 0,
// deleted, no body, pend. "<Type>_history" holds one immutable entry per
// version under _id = "<id>/<v>", with the same fields plus rid (the
// resource id), state (pending or committed), claimed (when the writer
// claimed the version) and, for a transaction's write, txn.
// matcare_txn is the journal: one entry per unfinished transaction,
// {_id: txid, started, entries: [{type, id, v}]}. matcare_txn_outcome
// decides each unfinished transaction: {_id: txid, committed, at}.
// matcare_txn_slot holds commit slots, {_id: "<minute>/<n>", txn, types,
// at}: the slots of a minute are 1..N, each taken by one insert, kept
// half an hour. matcare_repair holds repair tokens.
//
// # Write protocol
//
// Put(rec, prev): (1) insert the history entry as pending: a duplicate
// key means another writer has this version, ErrVersionConflict; (2)
// replace the current document (on MongoDB only if it is still at prev);
// (3) mark the entry committed. The current document is the commit point:
// a pending entry whose version the current document has reached is
// committed, one above it is invisible. A pending entry above the current
// version is always complete (it was one insert), so repair rolls it
// forward: at start-up, and whenever a writer meets a claim older than
// StaleAfter. A writer never performs step (2) after WriteTimeout from its
// claim, and StaleAfter is larger, so repair never races a live writer;
// repairers of one claim take turns through a unique repair token.
// Where the server has multi-document transactions (detected at Open by
// trying one), the three steps also run inside one. Without them, Put
// first reads the current document and answers ErrVersionConflict (the
// service retries) while it carries the pend mark of a committed
// transaction, see below.
//
// # Transactions
//
// Commit(writes) stores several versions all or none. With server
// transactions, every write's history entry is inserted and its current
// document inserted or replaced, fenced on prev, inside one. Without
// them (FerretDB v1: no transactions, no atomic filtered update, only
// inserts under a unique _id are compare-and-set), by a journal:
//
//  1. insert the journal entry (txid from crypto/rand);
//  2. claim each version: insert its history entry, pending, with txn;
//     a duplicate key aborts the transaction with ErrVersionConflict;
//  3. mark each current document pend {txn, v} (checking it is at prev
//     and unmarked), or insert the placeholder of a new resource. The
//     document's committed state, and so every search, is unchanged;
//  4. take the next commit slot of the current minute (insert "<m>/<n>",
//     n+1 after a duplicate key);
//  5. the commit point: insert the outcome {committed: true}. A repairer
//     aborts a stale transaction by inserting {committed: false}: the
//     unique _id decides which came first;
//  6. roll forward: replace each document still marked by txn with its
//     new version (no mark), mark each entry committed;
//  7. delete the journal entry, then the outcome.
//
// Undo (the owner's after a certain conflict, or a repairer's of a
// transaction without a committed outcome) removes the marks and
// placeholders, then the claims, then the journal entry and the outcome:
// nothing is left that a reader sees, and no version number is burned.
// Failures that leave doubt (a write that may still land) are left to
// repair. Repair (at start-up, and when a writer, a transaction or a
// search meets a transaction whose journal entry is older than
// StaleAfter) rolls forward a committed transaction and undoes any other,
// under a repair token.
//
// Readers: a document marked by a committed transaction is at the marked
// version (read from its history entry); one marked by any other is at
// its committed state, and a placeholder is not found. A pending entry of
// a transaction is visible if and only if its outcome is committed. An
// outcome is deleted only after its transaction's marks and pending
// entries are gone, so a reader that finds none reads the document or
// entry again: still marked or pending, the transaction had not decided.
// Searches and type and system histories read consistently (see
// consistently): before reading, they note the commit slots of the
// current minute and read the journal; a search waits while a
// transaction there has committed (it is rolling forward; a stale one it
// rolls forward itself); after reading, both read again if a slot was
// taken, or a transaction of the journal committed or finished,
// meanwhile, by a transaction writing a type they read; they give up
// with ErrUnavailable after WriteTimeout. All of this is point lookups
// but one read of the journal: FerretDB decodes every document a query
// scans (about 0.15 ms each), so a check scanning kept outcomes would
// cost each search in proportion to the commits of the last hour.
//
// Invariants, and why no reader sees part of a transaction:
//
//   - Only the holder of the claim of version v (a writer, a transaction,
//     or the one repairer holding its token) changes a current document
//     from v-1, or marks it; a transaction holds its claims from before it
//     marks a document until after the mark is gone. The owner writes
//     nothing after WriteTimeout from its start, repairers start after
//     StaleAfter (at least twice that), so no two processes write one
//     transaction's documents at once: FerretDB's filtered writes are
//     read-modify-write, and two writers could undo each other.
//   - Until the commit point the transaction changes nothing any reader
//     uses: marks are not read by search filters, placeholders are
//     deleted (every search filters on deleted: false, chains, includes
//     and point lookups too), and claims are invisible without a
//     committed outcome. The outcome is one insert and never changes: for
//     Current, Version and instance history every write of the
//     transaction becomes visible at that one instant, through the mark
//     or the claim until the roll forward, through the document after.
//   - A single writer never overtakes a roll forward: Put refuses a
//     document with a committed mark, and a transaction one with any mark
//     (or not at prev), before they write it.
//   - A search reads current documents, which a transaction changes only
//     between its commit point and its journal entry's deletion. Take a
//     transaction T that writes a type the search reads. If T's journal
//     entry was in the search's read of the journal, T had committed then
//     (the search waited until T finished), or T is watched: if T commits
//     before the search looks again, the search finds it committed or
//     finished, and reads again. If T's journal entry came later, T took
//     its slot later than the search counted this minute's slots (clocks
//     a minute apart at most), and before its commit point: if that was
//     before the search counts again, it finds the slot, and reads again.
//     Otherwise T changed nothing before the search finished reading. So
//     a search's reads never overlap a roll forward. A type or system
//     history sees each transaction's entries through its outcome, which
//     no commit changed during the read, by the same argument.
package repository

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/matcare/matcare/fhir"
)

// Options tune the write protocol; the zero value means the defaults.
type Options struct {
	// WriteTimeout bounds one write from its claim to its commit point
	// (default 10s).
	WriteTimeout time.Duration
	// StaleAfter is the age after which a pending claim is rolled forward
	// by others (default and minimum 3×WriteTimeout, so a writer's last
	// operation has a whole WriteTimeout to land before anyone repairs).
	StaleAfter time.Duration
	// SelectionTimeout bounds the wait for a reachable server before an
	// operation fails as unavailable (default 10s).
	SelectionTimeout time.Duration
	// Failpoint, for crash tests only, names a step of the write
	// protocol after which the process exits: see failpoint.go.
	Failpoint string
	// BaseURL is the server's own base URL: absolute references to it are
	// indexed, and searched for, as the relative references they are.
	BaseURL string
	// Monitor, if not nil, sees every command the store's client sends
	// (tests count the queries of a search with it).
	Monitor *event.CommandMonitor
}

// Store is the MongoDB implementation of service.Store.
type Store struct {
	client       *mongo.Client
	db           *mongo.Database
	log          *slog.Logger
	opts         Options
	transactions bool // the server runs multi-document transactions
	ferret       bool // the server is FerretDB: filters other than {_id} scan
	fail         *failpoint
	now          func() time.Time
	repairs      repairCounter
	slots        slotCache
	audits       *auditBatcher
}

// Open connects to uri, prepares the collections of every served type,
// probes the server's capabilities and repairs writes interrupted by a
// crash.
func Open(ctx context.Context, log *slog.Logger, uri, dbName string, opts Options) (*Store, error) {
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.SelectionTimeout <= 0 {
		opts.SelectionTimeout = 10 * time.Second
	}
	if opts.StaleAfter < 2*opts.WriteTimeout {
		opts.StaleAfter = 3 * opts.WriteTimeout
	}
	fp, err := parseFailpoint(opts.Failpoint)
	if err != nil {
		return nil, err
	}
	client, err := mongo.Connect(options.Client().ApplyURI(uri).
		SetWriteConcern(writeconcern.Majority()).
		SetReadConcern(readconcern.Majority()).
		SetServerSelectionTimeout(opts.SelectionTimeout).
		SetMonitor(opts.Monitor))
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	s := &Store{client: client, db: client.Database(dbName), log: log, opts: opts, fail: fp, now: time.Now}
	if err := s.init(ctx); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, err
	}
	s.audits = newAuditBatcher(s.db.Collection(auditCollection), opts.WriteTimeout)
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	var info bson.M
	if err := s.db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return fmt.Errorf("storage unreachable: %w", err)
	}
	_, s.ferret = info["ferretdbVersion"]
	if err := s.ensureCollections(ctx); err != nil {
		return err
	}
	s.transactions = s.probeTransactions(ctx)
	s.log.InfoContext(ctx, "storage ready", "db", s.db.Name(), "ferretdb", s.ferret, "transactions", s.transactions)
	if n, err := s.reindex(ctx); err != nil {
		return fmt.Errorf("reindex: %w", err)
	} else if n > 0 {
		s.log.InfoContext(ctx, "re-indexed documents for search", "count", n)
	}
	n, err := s.Repair(ctx, false)
	if err != nil {
		return fmt.Errorf("repair: %w", err)
	}
	if n > 0 {
		s.log.WarnContext(ctx, "repaired interrupted writes", "count", n)
	}
	if err := s.purgeAtStart(ctx); err != nil {
		return fmt.Errorf("purge: %w", err)
	}
	return nil
}

// Close disconnects from the server.
func (s *Store) Close(ctx context.Context) error {
	if s.audits != nil {
		s.audits.close()
	}
	return s.client.Disconnect(ctx)
}

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.db.RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err()
}

// Transactions reports whether writes run inside multi-document
// transactions.
func (s *Store) Transactions() bool { return s.transactions }

// StaleAfter is the age after which an interrupted write is repaired by
// others.
func (s *Store) StaleAfter() time.Duration { return s.opts.StaleAfter }

// Database is the database name.
func (s *Store) Database() string { return s.db.Name() }

// repairCollection holds the tokens of repairs in progress.
const repairCollection = "matcare_repair"

func (s *Store) current(typ string) *mongo.Collection { return s.db.Collection(typ) }
func (s *Store) history(typ string) *mongo.Collection { return s.db.Collection(typ + "_history") }

// ensureCollections creates the collections (FerretDB creates its SQLite
// tables on first use; creating them now lets the embedded server index
// them) and, on MongoDB, the indexes the queries use. On FerretDB v1
// secondary indexes serve no query and only slow writes, so none are
// made there.
func (s *Store) ensureCollections(ctx context.Context) error {
	existing, err := s.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return fmt.Errorf("list collections: %w", err)
	}
	have := map[string]bool{}
	for _, n := range existing {
		have[n] = true
	}
	for _, name := range []string{repairCollection, auditCollection, claimCollection, txnCollection, outcomeCollection, slotCollection} {
		if have[name] {
			continue
		}
		if err := s.db.CreateCollection(ctx, name); err != nil && !isNamespaceExists(err) {
			return fmt.Errorf("create collection %s: %w", name, err)
		}
	}
	if !s.ferret {
		if _, err := s.db.Collection(auditCollection).Indexes().CreateOne(ctx, mongo.IndexModel{
			Keys: bson.D{{Key: "board", Value: 1}, {Key: "recorded", Value: -1}},
		}); err != nil {
			return fmt.Errorf("indexes of %s: %w", auditCollection, err)
		}
	}
	for _, typ := range fhir.TypeNames() {
		for _, name := range []string{typ, typ + "_history"} {
			if have[name] {
				continue
			}
			if err := s.db.CreateCollection(ctx, name); err != nil && !isNamespaceExists(err) {
				return fmt.Errorf("create collection %s: %w", name, err)
			}
		}
		if s.ferret {
			continue
		}
		var models []mongo.IndexModel
		for _, keys := range currentIndexes(typ) {
			models = append(models, mongo.IndexModel{Keys: keys})
		}
		if _, err := s.current(typ).Indexes().CreateMany(ctx, models); err != nil {
			return fmt.Errorf("indexes of %s: %w", typ, err)
		}
		if _, err := s.history(typ).Indexes().CreateMany(ctx, []mongo.IndexModel{
			{Keys: bson.D{{Key: "lu", Value: -1}, {Key: "rid", Value: -1}, {Key: "v", Value: -1}}},
			{Keys: bson.D{{Key: "state", Value: 1}}},
		}); err != nil {
			return fmt.Errorf("indexes of %s_history: %w", typ, err)
		}
	}
	return nil
}

// currentIndexes are the indexes of typ's current collection on MongoDB
// besides _id's; INDEXES.md says which queries each serves and the plan
// expected. The search plans filter on deleted, board and pat by
// equality, then on the clauses, and sort by _id: each index starts with
// board and one equality and ends with _id, so that MongoDB reads the
// page in order without a SORT stage (deleted, false but for tombstones,
// is left to FETCH); a date index holds a range, and keeps a SORT stage.
// Every search field but the sort keys (xo)
// is an array, and MongoDB refuses to index a document with two arrays
// in one compound index ("cannot index parallel arrays"): so each index
// names at most one of pat, x.*, xl.*, xh.*, xn.*, m, and the other
// clauses of a search are checked on the fetched documents.
func currentIndexes(typ string) []bson.D {
	k := func(fields ...string) bson.D {
		d := bson.D{}
		for _, f := range fields {
			d = append(d, bson.E{Key: f, Value: 1})
		}
		return d
	}
	out := []bson.D{k("lu", "_id"), k("board", "_id")}
	if fhir.IsShared(typ) {
		return out
	}
	if typ == "Patient" || len(fhir.Types[typ].Compartment) > 0 {
		out = append(out, k("board", "pat", "_id")) // no pat elsewhere (Organization, Practitioner)
	}
	switch typ {
	case "Goal":
		out = append(out, k("board", "x.patient", "_id"), k("board", "x.lifecycle-status", "_id"), k("board", "xl.target-date"))
	case "CarePlan":
		out = append(out, k("board", "x.patient", "_id"), k("board", "x.status", "_id"), k("board", "xh.date"), k("board", "x.goal", "_id"))
	case "QuestionnaireResponse":
		out = append(out, k("board", "x.patient", "_id"), k("board", "x.status", "_id"), k("board", "xh.authored"))
	case "Observation":
		out = append(out, k("board", "x.patient", "_id"), k("board", "x.code", "_id"))
	case "CareTeam", "RelatedPerson":
		out = append(out, k("board", "x.patient", "_id"))
	}
	return out
}

func isNamespaceExists(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && (ce.Code == 48 || ce.Name == "NamespaceExists")
}

// probeTransactions runs one transaction and reports whether it worked.
func (s *Store) probeTransactions(ctx context.Context) bool {
	sess, err := s.client.StartSession()
	if err != nil {
		return false
	}
	defer sess.EndSession(ctx)
	_, err = sess.WithTransaction(ctx, func(ctx context.Context) (any, error) {
		_, err := s.current(fhir.TypeNames()[0]).DeleteOne(ctx, bson.D{{Key: "_id", Value: "matcare-transaction-probe"}})
		return nil, err
	})
	if err != nil {
		s.log.InfoContext(ctx, "no multi-document transactions; using the claim protocol alone", "reason", err.Error())
	}
	return err == nil
}

// atomically runs fn in a transaction when the server has them, directly
// otherwise; fn is correct either way, and may run more than once.
func (s *Store) atomically(ctx context.Context, fn func(context.Context) error) error {
	if !s.transactions {
		return fn(ctx)
	}
	sess, err := s.client.StartSession()
	if err != nil {
		return fmt.Errorf("start session: %w", err)
	}
	defer sess.EndSession(ctx)
	_, err = sess.WithTransaction(ctx, func(ctx context.Context) (any, error) {
		return nil, fn(ctx)
	})
	return err
}
