package service

import (
	"context"
	"fmt"
	"time"
)

// AuditRecord is one entry of the audit trail: an AuditEvent resource
// with the fields it is looked up by.
type AuditRecord struct {
	ID       string
	Recorded time.Time
	Board    string // the board of the client that acted; "" if unknown
	Client   string // the client that acted; "" if unauthenticated
	Body     []byte // the AuditEvent's JSON
}

// NewAuditID returns the id for a new audit record.
func NewAuditID() string { return newID() }

// Audit appends rec to the audit trail. The trail is written by the server
// only: there is no interaction that changes or removes a record.
func (s *Resources) Audit(ctx context.Context, rec AuditRecord) error {
	if err := s.store.AppendAudit(ctx, rec); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// ReadAudit returns one audit record to an auditor of the record's board
// (any board for a national auditor); ErrNotFound otherwise, exactly as if
// it did not exist.
func (s *Resources) ReadAudit(ctx context.Context, id string) (AuditRecord, error) {
	a, err := access(ctx)
	if err != nil {
		return AuditRecord{}, err
	}
	if !a.Auditor {
		return AuditRecord{}, fmt.Errorf("%w: reading the audit trail needs the auditor scope", ErrForbidden)
	}
	if err := checkTypeID("Patient", id); err != nil { // an id is an id
		return AuditRecord{}, err
	}
	rec, err := s.store.Audit(ctx, id)
	if err == nil && !a.National && (a.Board == "" || rec.Board != a.Board) {
		err = ErrNotFound
	}
	if err != nil {
		return AuditRecord{}, fmt.Errorf("AuditEvent/%s: %w", id, err)
	}
	return rec, nil
}
