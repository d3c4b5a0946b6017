package service

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/matcare/matcare/fhir"
)

// Access is what the caller of an interaction may see and change. Package
// api decides it from the verified token and the scopes the interaction
// needs; every interaction reads it from its context and refuses to run
// without one, so no path reaches storage unauthorised.
type Access struct {
	// Client identifies the caller; it is recorded with every write.
	Client string
	// Board is the caller's health board: it owns what the caller writes
	// and is all the caller reads. "" means none.
	Board string
	// National lets the caller read every board's resources (never write).
	National bool
	// Admin lets the caller write shared content (fhir.Type.Shared).
	Admin bool
	// Auditor lets the caller read the audit trail of its board (of every
	// board when National).
	Auditor bool
	// Patient confines the caller to this patient's compartment; "" means
	// no confinement. Shared content is outside every compartment and is
	// not confined.
	Patient string
	// Readable are the types a search may read besides the searched one:
	// through chains and _has, _include and _revinclude, and in a system
	// search. Package api sets them from the token's scopes.
	Readable []string
}

// AuditType is the type of the audit trail's resources.
const AuditType = "AuditEvent"

type accessKey struct{}

// WithAccess returns a context carrying the caller's access.
func WithAccess(ctx context.Context, a Access) context.Context {
	return context.WithValue(ctx, accessKey{}, a)
}

// AccessFrom returns the access carried by ctx.
func AccessFrom(ctx context.Context) (Access, bool) {
	a, ok := ctx.Value(accessKey{}).(Access)
	return a, ok
}

// access returns the caller's access or ErrForbidden: an interaction
// without one is a programming error, and fails closed.
func access(ctx context.Context) (Access, error) {
	a, ok := AccessFrom(ctx)
	if !ok {
		return Access{}, fmt.Errorf("%w: no access decision for this request", ErrForbidden)
	}
	return a, nil
}

// Sees reports whether a may read rec: shared content always; otherwise a
// resource of a's board (any board for a national reader), in a's patient
// compartment when a is confined.
func (a Access) Sees(rec Record) bool {
	if fhir.IsShared(rec.Type) {
		return true
	}
	if !a.National && (a.Board == "" || rec.Board != a.Board) {
		return false
	}
	return a.Patient == "" || slices.Contains(rec.Patients, a.Patient)
}

// owns reports whether a may change rec as it stands: a resource of a's own
// board (national readers included: nobody writes across boards), in a's
// compartment when confined. Shared content needs Admin.
func (a Access) owns(rec Record) bool {
	if fhir.IsShared(rec.Type) {
		return a.Admin
	}
	if a.Board == "" || rec.Board != a.Board {
		return false
	}
	return a.Patient == "" || slices.Contains(rec.Patients, a.Patient)
}

// mayWrite checks that a may write a resource of typ whose new version is
// in the compartments of patients.
func (a Access) mayWrite(typ string, patients []string) error {
	if fhir.IsShared(typ) {
		if !a.Admin {
			return fmt.Errorf("%w: %s is shared content; writing it needs the administrative scope", ErrForbidden, typ)
		}
		return nil
	}
	if a.Board == "" {
		return fmt.Errorf("%w: the token names no health board, and every %s belongs to one", ErrForbidden, typ)
	}
	if a.Patient != "" && !slices.Contains(patients, a.Patient) {
		return fmt.Errorf("%w: the resource is not in the compartment of Patient/%s, the token's patient", ErrForbidden, a.Patient)
	}
	return nil
}

// ownBoard is the board a's writes of typ belong to: none for shared
// content.
func (a Access) ownBoard(typ string) string {
	if fhir.IsShared(typ) {
		return ""
	}
	return a.Board
}

// tenancy is the listing restriction for a.
func (a Access) tenancy() Tenancy {
	return Tenancy{Board: a.Board, AllBoards: a.National, Patient: a.Patient}
}

// Tenancy restricts what a listing (history, search) returns: only Board's
// resources unless AllBoards, and only Patient's compartment when Patient is
// set. Shared types ignore it. The service sets it from the caller's access.
type Tenancy struct {
	Board     string
	AllBoards bool
	Patient   string
}

// Allows applies t to rec as a store's query would.
func (t Tenancy) Allows(rec Record) bool {
	return Access{Board: t.Board, National: t.AllBoards, Patient: t.Patient}.Sees(rec)
}

// ErrForbidden is returned when the caller's access does not allow an
// interaction; package api answers 403.
var ErrForbidden = errors.New("forbidden")

// ErrIDTaken is returned by an update-as-create to an id that exists but
// belongs to someone the caller cannot see: 409, revealing nothing more.
var ErrIDTaken = errors.New("this id is not available; choose another or create with POST")
