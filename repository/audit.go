package repository

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

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
}

// AppendAudit implements service.Store: one insert, bounded by the write
// timeout, acknowledged by the server's write concern before it returns.
func (s *Store) AppendAudit(ctx context.Context, rec service.AuditRecord) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	_, err := s.db.Collection(auditCollection).InsertOne(ctx, auditDoc{
		ID: rec.ID, Recorded: rec.Recorded, Board: rec.Board, Client: rec.Client, Body: string(rec.Body),
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
