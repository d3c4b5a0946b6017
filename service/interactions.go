package service

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// Create stores body as version 1 of a new resource of type typ with a
// server-assigned id. Any id in body is ignored, as R4 requires.
func (s *Resources) Create(ctx context.Context, typ string, body []byte) (Record, error) {
	a, err := access(ctx)
	if err != nil {
		return Record{}, err
	}
	res, err := fhir.Parse(typ, body)
	if err != nil {
		return Record{}, err
	}
	rec := Record{Type: typ, ID: newID(), Version: 1, Method: "POST", Created: true, LastUpdated: s.timestamp(),
		Board: a.ownBoard(typ), Client: a.Client}
	rec.Patients = res.Patients(rec.ID)
	if err := a.mayWrite(typ, rec.Patients); err != nil {
		return Record{}, err
	}
	if rec.Body, err = res.Stamp(rec.ID, rec.Version, rec.LastUpdated, rec.Board); err != nil {
		return Record{}, err
	}
	if err := s.put(ctx, a, &rec, nil); err != nil {
		return Record{}, fmt.Errorf("create %s: %w", typ, err)
	}
	return rec, nil
}

// Read returns the current version of a resource: ErrNotFound if it never
// existed or the caller may not see it, ErrGone (with the tombstone) if it
// was deleted.
func (s *Resources) Read(ctx context.Context, typ, id string) (Record, error) {
	a, err := access(ctx)
	if err != nil {
		return Record{}, err
	}
	if err := checkTypeID(typ, id); err != nil {
		return Record{}, err
	}
	rec, err := s.store.Current(ctx, typ, id)
	if err == nil && !a.Sees(rec) {
		rec, err = Record{}, ErrNotFound // exactly as if absent
	}
	if err != nil {
		return Record{}, fmt.Errorf("%s/%s: %w", typ, id, err)
	}
	if rec.Deleted {
		return rec, fmt.Errorf("%s/%s: %w", typ, id, ErrGone)
	}
	return rec, nil
}

// VRead returns one version of a resource; ErrGone (with the tombstone)
// if that version is a deletion.
func (s *Resources) VRead(ctx context.Context, typ, id string, version int) (Record, error) {
	a, err := access(ctx)
	if err != nil {
		return Record{}, err
	}
	if err := checkTypeID(typ, id); err != nil {
		return Record{}, err
	}
	rec, err := s.store.Version(ctx, typ, id, version)
	if err == nil && !a.Sees(rec) {
		rec, err = Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("%s/%s/_history/%d: %w", typ, id, version, err)
	}
	if rec.Deleted {
		return rec, fmt.Errorf("%s/%s/_history/%d: %w", typ, id, version, ErrGone)
	}
	return rec, nil
}

// Update stores body as the next version of typ/id, creating the resource
// if it does not exist (update-as-create); created reports which. With
// ifMatch set, the write happens only if ifMatch is the current version
// (ErrPrecondition otherwise); without it, a lost race is retried.
func (s *Resources) Update(ctx context.Context, typ, id string, body []byte, ifMatch *int) (rec Record, created bool, err error) {
	a, err := access(ctx)
	if err != nil {
		return Record{}, false, err
	}
	if err := checkTypeID(typ, id); err != nil {
		return Record{}, false, err
	}
	res, err := fhir.Parse(typ, body)
	if err != nil {
		return Record{}, false, err
	}
	switch {
	case res.ID == "":
		return Record{}, false, fhir.Errorf(r4.IssueTypeRequired, typ+".id", "the resource must have an id equal to the id in the URL (%s)", id)
	case res.ID != id:
		return Record{}, false, fhir.Errorf(r4.IssueTypeInvalid, typ+".id", "the id in the resource (%s) does not match the id in the URL (%s)", res.ID, id)
	}
	return s.update(ctx, a, typ, id, res, ifMatch, nil)
}

// update stores res as the next version of typ/id (Update after its
// checks of the body's id). still, if set, must accept the current
// version (nil if none); its error is returned as it is.
func (s *Resources) update(ctx context.Context, a Access, typ, id string, res *fhir.Resource, ifMatch *int, still func(cur *Record) error) (rec Record, created bool, err error) {
	patients := res.Patients(id)
	if err := a.mayWrite(typ, patients); err != nil {
		return Record{}, false, err
	}
	// An id held by someone the caller cannot change is taken: 409,
	// whatever its state, so an update reveals no more than that.
	err = s.write(ctx, typ, id, ifMatch, a, fmt.Errorf("%s/%s: %w", typ, id, ErrIDTaken), func(cur *Record) (Record, error) {
		if still != nil {
			if err := still(cur); err != nil {
				return Record{}, err
			}
		}
		created = cur == nil || cur.Deleted
		rec := Record{Type: typ, ID: id, Method: "PUT", Created: created, LastUpdated: s.timestamp(),
			Board: a.ownBoard(typ), Patients: patients, Client: a.Client}
		if cur != nil {
			rec.Version = cur.Version + 1
			if rec.LastUpdated.Before(cur.LastUpdated) { // keep history in order if the clock steps back
				rec.LastUpdated = cur.LastUpdated
			}
		} else {
			rec.Version = 1
		}
		var err error
		rec.Body, err = res.Stamp(id, rec.Version, rec.LastUpdated, rec.Board)
		return rec, err
	}, &rec)
	if err != nil {
		return Record{}, false, err
	}
	return rec, created, nil
}

// Delete records a tombstone version of typ/id. Deleting a resource that
// does not exist or is already deleted changes nothing and succeeds
// (R4 delete is idempotent); done is false then.
func (s *Resources) Delete(ctx context.Context, typ, id string, ifMatch *int) (rec Record, done bool, err error) {
	a, err := access(ctx)
	if err != nil {
		return Record{}, false, err
	}
	if err := checkTypeID(typ, id); err != nil {
		return Record{}, false, err
	}
	if fhir.IsShared(typ) && !a.Admin || !fhir.IsShared(typ) && a.Board == "" {
		return Record{}, false, a.mayWrite(typ, nil)
	}
	// Another board's resource is treated exactly as an absent one.
	err = s.write(ctx, typ, id, ifMatch, a, nil, func(cur *Record) (Record, error) {
		if cur == nil || cur.Deleted {
			return Record{}, errNothingToDo
		}
		rec := Record{Type: typ, ID: id, Version: cur.Version + 1, Method: "DELETE", Deleted: true, LastUpdated: s.timestamp(),
			Board: cur.Board, Patients: cur.Patients, Client: a.Client}
		if rec.LastUpdated.Before(cur.LastUpdated) {
			rec.LastUpdated = cur.LastUpdated
		}
		return rec, nil
	}, &rec)
	if errors.Is(err, errNothingToDo) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, err
	}
	return rec, true, nil
}

var errNothingToDo = errors.New("nothing to do")

// write runs one versioned write: read the current version, check
// If-Match, build the next version with next, and store it. Losing the
// race for the next version fails with ErrPrecondition under If-Match and
// is retried, with jittered backoff, without it. A current version a may
// not change fails with hidden, or, when hidden is nil, is treated as
// absent.
func (s *Resources) write(ctx context.Context, typ, id string, ifMatch *int, a Access, hidden error, next func(cur *Record) (Record, error), out *Record) error {
	deadline := s.now().Add(s.retry)
	backoff := time.Millisecond
	for {
		var cur *Record
		c, err := s.store.Current(ctx, typ, id)
		switch {
		case err == nil:
			cur = &c
		case errors.Is(err, ErrNotFound):
		default:
			return fmt.Errorf("%s/%s: %w", typ, id, err)
		}
		if cur != nil && !a.owns(*cur) {
			if hidden != nil {
				return hidden
			}
			cur = nil
		}
		if ifMatch != nil && (cur == nil || cur.Version != *ifMatch) {
			return fmt.Errorf("%s/%s: %w", typ, id, ErrPrecondition)
		}
		rec, err := next(cur)
		if err != nil {
			return err
		}
		err = s.put(ctx, a, &rec, cur)
		if err == nil {
			*out = rec
			return nil
		}
		if !errors.Is(err, ErrVersionConflict) {
			return fmt.Errorf("%s/%s: %w", typ, id, err)
		}
		if ifMatch != nil {
			return fmt.Errorf("%s/%s: %w", typ, id, ErrPrecondition)
		}
		if s.now().After(deadline) {
			return fmt.Errorf("%s/%s: %w", typ, id, err)
		}
		// Another writer holds the next version; it finishes in
		// milliseconds, or repair rolls its claim forward.
		sleep := backoff/2 + rand.N(backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(sleep):
		}
		backoff = min(backoff*2, 100*time.Millisecond)
	}
}

// checkTypeID rejects an unknown type (404) and a malformed id (400)
// before any storage is touched.
func checkTypeID(typ, id string) error {
	if _, ok := fhir.Types[typ]; !ok {
		return fhir.Errorf(r4.IssueTypeNotSupported, "", "resource type %q is not supported", typ).WithStatus(404)
	}
	if !fhir.ValidID(id) {
		return fhir.Errorf(r4.IssueTypeValue, "", "%q is not a valid resource id", id)
	}
	return nil
}
