package repository

import (
	"strconv"
	"time"

	"github.com/matcare/matcare/service"
)

const (
	pending   = "pending"
	committed = "committed"
)

// currentDoc is the stored current version of a resource.
type currentDoc struct {
	ID      string    `bson:"_id"`
	V       int       `bson:"v"`
	LU      time.Time `bson:"lu"`
	Deleted bool      `bson:"deleted"`
	Method  string    `bson:"method"`
	Created bool      `bson:"created,omitempty"`
	Board   string    `bson:"board"`
	Pat     []string  `bson:"pat,omitempty"`
	By      string    `bson:"by,omitempty"`
	Txn     string    `bson:"txn,omitempty"`
	Body    string    `bson:"body,omitempty"`
	// Pend marks a version a transaction is writing (see txn.go); the
	// fields above stay the committed state until its roll forward.
	Pend *pendMark `bson:"pend,omitempty"`

	Index indexFields `bson:",inline"`

	typ string // the type, when read by a search
}

// historyDoc is one stored version.
type historyDoc struct {
	ID      string    `bson:"_id"` // historyID(rid, v)
	RID     string    `bson:"rid"`
	V       int       `bson:"v"`
	LU      time.Time `bson:"lu"`
	Deleted bool      `bson:"deleted"`
	Method  string    `bson:"method"`
	Created bool      `bson:"created,omitempty"`
	Board   string    `bson:"board"`
	Pat     []string  `bson:"pat,omitempty"`
	By      string    `bson:"by,omitempty"`
	Txn     string    `bson:"txn,omitempty"`
	Body    string    `bson:"body,omitempty"`
	State   string    `bson:"state"`
	Claimed time.Time `bson:"claimed"`
}

func historyID(id string, v int) string { return id + "/" + strconv.Itoa(v) }

func toHistory(rec service.Record, claimed time.Time) historyDoc {
	return historyDoc{
		ID: historyID(rec.ID, rec.Version), RID: rec.ID, V: rec.Version, LU: rec.LastUpdated,
		Deleted: rec.Deleted, Method: rec.Method, Created: rec.Created, Board: rec.Board, Pat: rec.Patients, By: rec.Client, Body: string(rec.Body),
		State: pending, Claimed: claimed,
	}
}

func (h historyDoc) current() currentDoc {
	return currentDoc{ID: h.RID, V: h.V, LU: h.LU, Deleted: h.Deleted, Method: h.Method, Created: h.Created, Board: h.Board, Pat: h.Pat, By: h.By, Txn: h.Txn, Body: h.Body}
}

func (h historyDoc) record(typ string) service.Record {
	return service.Record{Type: typ, ID: h.RID, Version: h.V, LastUpdated: h.LU.UTC(), Deleted: h.Deleted,
		Method: h.Method, Created: h.Created, Board: h.Board, Patients: h.Pat, Client: h.By, Body: body(h.Body)}
}

func (c currentDoc) record(typ string) service.Record {
	return service.Record{Type: typ, ID: c.ID, Version: c.V, LastUpdated: c.LU.UTC(), Deleted: c.Deleted,
		Method: c.Method, Created: c.Created, Board: c.Board, Patients: c.Pat, Client: c.By, Body: body(c.Body)}
}

// rec is the record of a document a search read.
func (c currentDoc) rec() service.Record { return c.record(c.typ) }

func body(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}
