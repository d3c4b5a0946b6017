package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/search"
)

// Patch applies a JSON Patch (RFC 6902) to the current version of typ/id
// and stores the result as the next version, as Update would store it:
// the patch applies to the stored JSON, so what it does not touch keeps
// its text, and the result must be a valid resource of the same type with
// the same id. With ifMatch set the patch applies only to that version
// (ErrPrecondition otherwise); without it, a lost race re-applies the
// patch to the version that won.
//
// A malformed patch is a 400 *fhir.Error; an operation that does not apply
// (a failing test, an absent path), and a result that is not a valid
// resource or changes id or resourceType, a 422 one (RFC 5789 §2.2: the
// patch is understood but would make the resource invalid). Nothing is
// stored then. An absent resource, or one the caller may not see, is
// ErrNotFound; a deleted one ErrGone; one the caller sees but may not
// change (another board's, to a national reader) ErrForbidden.
func (s *Resources) Patch(ctx context.Context, typ, id string, patch []byte, ifMatch *int) (Record, error) {
	a, err := access(ctx)
	if err != nil {
		return Record{}, err
	}
	if err := checkTypeID(typ, id); err != nil {
		return Record{}, err
	}
	p, err := fhir.ParsePatch(patch)
	if err != nil {
		return Record{}, err
	}
	return s.patch(ctx, a, typ, id, p, ifMatch, nil)
}

// ConditionalPatch applies a JSON Patch to the one resource that criteria
// q match among those the caller may change (R4 conditional patch): no
// match is ErrNotFound, several are ErrPrecondition (412). The patch
// applies to a version that still matches: if a concurrent write takes
// the match out of the criteria first, they are searched again. ifMatch
// applies to the match. Otherwise it answers as Patch.
func (s *Resources) ConditionalPatch(ctx context.Context, typ string, q url.Values, patch []byte, ifMatch *int) (Record, error) {
	a, err := access(ctx)
	if err != nil {
		return Record{}, err
	}
	if err := checkTypeID(typ, "x"); err != nil {
		return Record{}, err
	}
	query, err := criteria(typ, q)
	if err != nil {
		return Record{}, err
	}
	p, err := fhir.ParsePatch(patch)
	if err != nil {
		return Record{}, err
	}
	// The version patched must still meet the criteria on its own
	// elements; a chained condition is about other resources, which the
	// search checked and the body cannot tell.
	var own []search.Clause
	for _, c := range query.Clauses {
		if len(c.Chain) == 0 {
			own = append(own, c)
		}
	}
	still := func(cur Record) error {
		idx, err := search.Extract(typ, cur.Body)
		if err != nil {
			return err
		}
		if !search.MatchesAll(own, idx) {
			return errNoLongerMatches
		}
		return nil
	}
	deadline := s.now().Add(s.retry)
	for {
		ms, err := s.matches(ctx, a, query, 1)
		if err != nil {
			return Record{}, err
		}
		switch len(ms) {
		case 0:
			return Record{}, fmt.Errorf("%s: no resource matches the criteria: %w", typ, ErrNotFound)
		case 1:
		default:
			return Record{}, errSeveral(typ, len(ms), 1)
		}
		rec, err := s.patch(ctx, a, typ, ms[0].ID, p, ifMatch, still)
		if !errors.Is(err, errNoLongerMatches) {
			return rec, err
		}
		if s.now().After(deadline) {
			return Record{}, fmt.Errorf("%s: the match kept changing: %w", typ, ErrVersionConflict)
		}
	}
}

// errNoLongerMatches is a conditional patch's match changed by another
// writer so that the criteria no longer select it.
var errNoLongerMatches = errors.New("the match no longer matches the criteria")

// patch applies p to the current version of typ/id for a; still, if set,
// must accept that version (its error is returned as it is).
func (s *Resources) patch(ctx context.Context, a Access, typ, id string, p *fhir.Patch, ifMatch *int, still func(Record) error) (Record, error) {
	var rec Record
	err := s.write(ctx, typ, id, ifMatch, a, errHidden, func(cur *Record) (Record, error) {
		switch {
		case cur == nil:
			return Record{}, fmt.Errorf("%s/%s: %w", typ, id, ErrNotFound)
		case cur.Deleted:
			return Record{}, fmt.Errorf("%s/%s: %w", typ, id, ErrGone)
		}
		if still != nil {
			if err := still(*cur); err != nil {
				return Record{}, err
			}
		}
		return s.patched(a, *cur, p)
	}, &rec)
	if errors.Is(err, errHidden) {
		return Record{}, s.hiddenError(ctx, a, typ, id)
	}
	if err != nil {
		return Record{}, err
	}
	return rec, nil
}

// errHidden marks a current version the caller may not change.
var errHidden = errors.New("not the caller's to change")

// hiddenError is the answer to a change of typ/id, which a may not make:
// ErrNotFound, as a read would answer, unless a may see it; then
// ErrForbidden, since pretending it is absent would contradict a read.
func (s *Resources) hiddenError(ctx context.Context, a Access, typ, id string) error {
	cur, err := s.store.Current(ctx, typ, id)
	switch {
	case err != nil && !errors.Is(err, ErrNotFound):
		return fmt.Errorf("%s/%s: %w", typ, id, err)
	case err == nil && a.Sees(cur):
		if fhir.IsShared(typ) {
			return a.mayWrite(typ, nil)
		}
		return fmt.Errorf("%w: %s/%s belongs to another health board or patient compartment; nobody changes another board's data", ErrForbidden, typ, id)
	}
	return fmt.Errorf("%s/%s: %w", typ, id, ErrNotFound)
}

// patched is the version after cur with p applied, checked as an update's
// body is checked.
func (s *Resources) patched(a Access, cur Record, p *fhir.Patch) (Record, error) {
	body, err := p.Apply(cur.Body)
	if err != nil {
		return Record{}, err
	}
	var top struct {
		ResourceType *string `json:"resourceType"`
	}
	if json.Unmarshal(body, &top) == nil && (top.ResourceType == nil || *top.ResourceType != cur.Type) {
		return Record{}, patchError(cur.Type+".resourceType", "the patch changes or removes resourceType; a patch cannot change a resource's type")
	}
	res, err := fhir.Parse(cur.Type, body)
	if err != nil {
		return Record{}, unprocessable(err)
	}
	switch {
	case res.ID == "":
		return Record{}, patchError(cur.Type+".id", "the patch removes id; a patch cannot change a resource's id")
	case res.ID != cur.ID:
		return Record{}, patchError(cur.Type+".id", "the patch changes id from %s to %s; a patch cannot change a resource's id", cur.ID, res.ID)
	}
	patients := res.Patients(cur.ID)
	if err := a.mayWrite(cur.Type, patients); err != nil {
		return Record{}, err
	}
	rec := Record{Type: cur.Type, ID: cur.ID, Version: cur.Version + 1, Method: "PATCH", LastUpdated: s.timestamp(),
		Board: a.ownBoard(cur.Type), Patients: patients, Client: a.Client}
	if rec.LastUpdated.Before(cur.LastUpdated) { // keep history in order if the clock steps back
		rec.LastUpdated = cur.LastUpdated
	}
	if rec.Body, err = res.Stamp(cur.ID, rec.Version, rec.LastUpdated, rec.Board); err != nil {
		return Record{}, unprocessable(err)
	}
	return rec, nil
}

// unprocessable turns a validation failure of a patch's result into a
// 422: the request was well formed, its result is not (RFC 5789 §2.2).
func unprocessable(err error) error {
	var fe *fhir.Error
	if !errors.As(err, &fe) {
		return err
	}
	out := &fhir.Error{Status: http.StatusUnprocessableEntity, Err: fe.Err}
	for _, is := range fe.Issues {
		is.Diagnostics = "the patched resource is invalid: " + is.Diagnostics
		out.Issues = append(out.Issues, is)
	}
	return out
}

func patchError(expr, format string, args ...any) error {
	return fhir.Errorf(r4.IssueTypeProcessing, expr, format, args...).WithStatus(http.StatusUnprocessableEntity)
}
