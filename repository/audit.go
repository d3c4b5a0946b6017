package repository

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/matcare/matcare/service"
)

// auditCollection holds the audit trail, one AuditEvent per document.
const auditCollection = "AuditEvent"

// auditDoc is one stored audit record; the AuditEvent is kept as JSON text.
type auditDoc struct {
	ID       string    `bson:"_id"`
	Recorded time.Time `bson:"recorded"`
	Board    string    `bson:"board"`
	Client   string    `bson:"client,omitempty"`
	Body     string    `bson:"body"`
	// LU is Recorded under the name search sorts and pages by.
	LU time.Time `bson:"lu"`

	Index indexFields `bson:",inline"`
}

// AppendAudit implements service.Store. It returns once the record is
// durably stored (the client's write concern acknowledged its insert).
// Records appended concurrently are inserted together, one InsertMany and
// so one storage commit for many requests (group commit); a lone record
// waits for no one.
func (s *Store) AppendAudit(ctx context.Context, rec service.AuditRecord) error {
	err := s.audits.append(ctx, auditDoc{
		ID: rec.ID, Recorded: rec.Recorded, Board: rec.Board, Client: rec.Client, Body: string(rec.Body),
		LU: rec.Recorded, Index: s.auditIndex(string(rec.Body)),
	})
	if err != nil {
		return s.storageErr("append audit", err)
	}
	return nil
}

// Audit implements service.Store.
func (s *Store) Audit(ctx context.Context, id string) (service.AuditRecord, error) {
	var d auditDoc
	err := s.db.Collection(auditCollection).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return service.AuditRecord{}, service.ErrNotFound
	}
	if err != nil {
		return service.AuditRecord{}, s.storageErr("read audit", err)
	}
	return service.AuditRecord{ID: d.ID, Recorded: d.Recorded.UTC(), Board: d.Board, Client: d.Client, Body: []byte(d.Body)}, nil
}

// maxAuditBatch bounds one group commit.
const maxAuditBatch = 256

// auditBatcher inserts audit records from one goroutine, taking every
// record that queued while the previous insert ran.
type auditBatcher struct {
	coll    *mongo.Collection
	timeout time.Duration
	queue   chan auditReq
	stop    chan struct{} // closed by close
	gone    chan struct{} // closed when loop has returned
	once    sync.Once
}

type auditReq struct {
	doc    auditDoc
	result chan error // buffered: the writer never blocks on a gone waiter
}

var errAuditClosed = errors.New("audit trail closed")

func newAuditBatcher(coll *mongo.Collection, timeout time.Duration) *auditBatcher {
	b := &auditBatcher{coll: coll, timeout: timeout, queue: make(chan auditReq, 4*maxAuditBatch),
		stop: make(chan struct{}), gone: make(chan struct{})}
	go b.loop()
	return b
}

// append queues doc and waits for its insert or for ctx. A record whose
// caller gave up may still be stored: an AuditEvent too many, never one
// too few.
func (b *auditBatcher) append(ctx context.Context, doc auditDoc) error {
	req := auditReq{doc: doc, result: make(chan error, 1)}
	select {
	case <-b.stop:
		return errAuditClosed
	default:
	}
	select {
	case b.queue <- req:
	case <-b.stop:
		return errAuditClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.result:
		return err
	case <-b.gone: // queued after the loop's last drain
		select {
		case err := <-req.result:
			return err
		default:
			return errAuditClosed
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *auditBatcher) loop() {
	defer close(b.gone)
	batch := make([]auditReq, 0, maxAuditBatch)
	for {
		select {
		case <-b.stop:
			b.drain()
			return
		case req := <-b.queue:
			batch = append(batch[:0], req)
		}
	more:
		for len(batch) < maxAuditBatch {
			select {
			case req := <-b.queue:
				batch = append(batch, req)
			default:
				break more
			}
		}
		b.insert(batch)
	}
}

// insert stores a batch with one unordered InsertMany and tells each
// waiter its own outcome.
func (b *auditBatcher) insert(batch []auditReq) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	docs := make([]any, len(batch))
	for i, r := range batch {
		docs[i] = r.doc
	}
	_, err := b.coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	failed := map[int]error{}
	var bwe mongo.BulkWriteException
	switch {
	case err == nil:
	case errors.As(err, &bwe) && bwe.WriteConcernError == nil:
		for _, we := range bwe.WriteErrors {
			failed[we.Index] = we
		}
	default:
		for i := range batch {
			failed[i] = err
		}
	}
	for i, r := range batch {
		r.result <- failed[i]
	}
}

// drain fails whatever is still queued at close.
func (b *auditBatcher) drain() {
	for {
		select {
		case req := <-b.queue:
			req.result <- errAuditClosed
		default:
			return
		}
	}
}

func (b *auditBatcher) close() {
	b.once.Do(func() { close(b.stop) })
	<-b.gone
}
