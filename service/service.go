// Package service implements the FHIR interactions' semantics: server
// assigned ids, versions, If-Match, update-as-create, delete as a
// tombstone version, history and search. It knows neither HTTP nor
// MongoDB: storage is the Store interface, defined here with its only user
// and implemented by package repository.
package service

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/search"
)

// Record is one stored version of a resource.
type Record struct {
	Type        string
	ID          string
	Version     int
	LastUpdated time.Time
	Deleted     bool     // a tombstone: the version a delete created
	Method      string   // the interaction that made it: POST, PUT, PATCH or DELETE
	Created     bool     // the write created the resource (POST, or PUT of a new or deleted id)
	Board       string   // the owning health board; "" for shared content
	Patients    []string // the patients whose compartment this version is in
	Client      string   // the client that wrote this version
	Body        []byte   // the resource's JSON, id and meta included; nil for a tombstone
	// Issues are the warnings and information the content checks found
	// in this version when it was written (never stored).
	Issues []fhir.Issue
}

// Write is one new version a Commit stores: Rec.Version must be Prev+1
// (Prev 0: the resource does not exist).
type Write struct {
	Rec  Record
	Prev int
}

// HistoryQuery selects history entries, newest first. Type "" means the
// whole system; ID "" means every resource of Type.
type HistoryQuery struct {
	Type, ID string
	Types    []string    // with Type "": only these types (nil: all)
	Tenancy  Tenancy     // set by the service from the caller's access
	Since    time.Time   // zero: no lower bound (inclusive bound otherwise)
	Count    int         // entries wanted; the store returns up to Count+1
	After    *HistoryKey // resume after this entry
}

// HistoryKey orders history entries: newest LastUpdated first, then by
// type, id and version, descending.
type HistoryKey struct {
	LastUpdated time.Time
	Type, ID    string
	Version     int
}

// Key returns the HistoryKey of rec.
func (rec Record) Key() HistoryKey {
	return HistoryKey{LastUpdated: rec.LastUpdated, Type: rec.Type, ID: rec.ID, Version: rec.Version}
}

// Less reports whether k sorts before o in history order (newest first).
func (k HistoryKey) Less(o HistoryKey) bool {
	if !k.LastUpdated.Equal(o.LastUpdated) {
		return k.LastUpdated.After(o.LastUpdated)
	}
	if k.Type != o.Type {
		return k.Type > o.Type
	}
	if k.ID != o.ID {
		return k.ID > o.ID
	}
	return k.Version > o.Version
}

// TimeBound is one comparison on a time: Op is one of eq, ne, gt, lt, ge,
// le; an eq or ne bound covers [Lo, Hi).
type TimeBound struct {
	Op     string
	Lo, Hi time.Time
}

// SearchQuery is one page of a search: the parsed request, where the page
// starts and who asks.
type SearchQuery struct {
	// Type is the searched type; "" for a system search over Types.
	Type string
	// Types are the types a system search covers (set by the service).
	Types []string
	// Query holds the clauses, sort keys, page size and includes.
	Query *search.Query
	// After is the position the page starts from; nil for the first page.
	After *Cursor
	// Compartment restricts matches to the compartment of this patient
	// (compartment search, GET /Patient/{id}/{type}); "" for none.
	Compartment string
	// Includable are the types _include and _revinclude may add (the
	// caller may read them); set by the service.
	Includable []string
	// Tenancy is set by the service from the caller's access.
	Tenancy Tenancy
}

// Cursor is a position in the order of a search's matches: the sort key
// values, type and id of one match. Back asks for the page before it
// instead of the page after it. Order names the order the keys are of:
// a cursor is refused by a search of another order.
type Cursor struct {
	Back  bool     `json:"b,omitempty"`
	Order string   `json:"o,omitempty"`
	Keys  []string `json:"k,omitempty"`
	Type  string   `json:"t,omitempty"`
	ID    string   `json:"i"`
}

// SearchResult is one page of a search.
type SearchResult struct {
	// Matches are the page's matches in order; Included what _include and
	// _revinclude added (each resource once, none that is a match).
	Matches, Included []Record
	// Next and Prev are the positions of the neighbouring pages; nil when
	// there is none.
	Next, Prev *Cursor
	// Total is the number of matches over all pages when HasTotal.
	Total    int64
	HasTotal bool
}

// Store is the persistence the interactions need.
type Store interface {
	// Current returns the latest version of a resource, a tombstone
	// included; ErrNotFound if there is none.
	Current(ctx context.Context, typ, id string) (Record, error)
	// Version returns one version; ErrNotFound if there is no such.
	Version(ctx context.Context, typ, id string, version int) (Record, error)
	// Put stores rec as the new current version and its history entry:
	// both or neither. It fails with ErrVersionConflict unless the
	// current version is prev (0: the resource does not exist).
	Put(ctx context.Context, rec Record, prev int) error
	// Commit stores every write or none of them, atomically for every
	// reader (Current, Version, History, Search): no reader ever sees
	// some of the writes without the others, also if the process is
	// killed at any point. It fails with ErrVersionConflict (wrapped,
	// naming the resource) when a write's Prev is no longer the current
	// version. A resource may be written at most once per Commit.
	Commit(ctx context.Context, writes []Write) error
	// History returns entries in history order.
	History(ctx context.Context, q HistoryQuery) ([]Record, error)
	// Search returns one page of current, non-deleted matches of q, with
	// what q includes, all within q.Tenancy.
	Search(ctx context.Context, q SearchQuery) (SearchResult, error)
	// CurrentClaim returns the latest generation of the conditional
	// create claim key (Gen 0 if it was never claimed).
	CurrentClaim(ctx context.Context, key string) (Claim, error)
	// TakeClaim records generation c.Gen of c.Key, held by resource c.ID;
	// ErrVersionConflict if that generation is already taken.
	TakeClaim(ctx context.Context, c Claim) error
	// AppendAudit durably stores one audit record; records are never
	// changed or removed.
	AppendAudit(ctx context.Context, rec AuditRecord) error
	// Audit returns one audit record; ErrNotFound if there is none.
	Audit(ctx context.Context, id string) (AuditRecord, error)
}

// Claim is one generation of a conditional create's claim on its
// normalised criteria: the resource that holds them. See Conditional.
type Claim struct {
	Key string
	Gen int
	ID  string    // the holding resource
	At  time.Time // when the claim was taken
}

// Resources implements the interactions on every served type.
type Resources struct {
	store Store
	now   func() time.Time
	// retry bounds how long an update without If-Match keeps retrying
	// after losing a race for the next version.
	retry time.Duration
	// staleAfter is the age after which a conditional create's claim
	// whose resource never appeared is spent: the store's StaleAfter,
	// after which it repairs interrupted writes.
	staleAfter time.Duration
	// content is enforced on writes; nil: no content checks.
	content *Content
}

// New returns Resources that keep their data in store.
func New(store Store) *Resources {
	r := &Resources{store: store, now: time.Now, retry: 10 * time.Second, staleAfter: 30 * time.Second}
	if st, ok := store.(interface{ StaleAfter() time.Duration }); ok {
		r.staleAfter = st.StaleAfter()
	}
	return r
}

// newID returns a server-assigned id: 26 base32 characters, 128 random bits.
func newID() string { return rand.Text() }

// timestamp is the server's lastUpdated for a write now: UTC, to the
// millisecond, the precision BSON stores.
func (s *Resources) timestamp() time.Time {
	return s.now().UTC().Truncate(time.Millisecond)
}
