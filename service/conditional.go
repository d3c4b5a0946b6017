package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/search"
)

// Conditional interactions (R4 http.html: conditional create, update,
// delete) find their target with search criteria. Criteria are search
// parameters of the type only: no chains or _has, no result parameters
// (_count, _sort, _include, …), nothing unknown; anything else is a 400,
// because criteria the server ignored would match more than the client
// meant. Matches are searched among the resources the caller may change:
// its own board's (and, for a patient-confined token, its patient's).
//
// # Race-free conditional create
//
// Search-then-create is racy (even inside a database transaction, since
// the search reads no row the create would write). So the criteria are
// claimed: their normalised form, with the type and the caller's board,
// is hashed into a key, and a create that finds no match inserts a claim
// for that key naming the id it is about to create. The insert is under
// a unique _id, so of racers exactly one wins; the others find the
// winner's resource through the claim and answer with it.
//
// A claim holds while its resource exists and still matches the
// criteria. When the resource is deleted, or changed so that it no
// longer matches, the claim is spent: the next conditional create that
// finds no match takes the next generation of the key (again one insert,
// again one winner). A claim whose resource never appeared (its writer
// died between claim and create) is spent once it is older than the
// store's StaleAfter: whoever supersedes it first writes a tombstone as
// version 1 of the claimed id, so that a writer still alive cannot
// create it late (its create would lose the version claim), or, if that
// writer's version 1 is already claimed, lets repair complete it and
// answers with it.

// maxCriteriaMatches bounds a conditional delete of several resources
// when the caller sets no lower limit.
const maxCriteriaMatches = 100

// criteria parses a conditional interaction's search criteria.
func criteria(typ string, q url.Values) (*search.Query, error) {
	if len(q) == 0 {
		return nil, fhir.Errorf(r4.IssueTypeInvalid, "", "a conditional %s interaction needs search criteria", typ)
	}
	for k := range q {
		name, _, _ := strings.Cut(k, ":")
		switch {
		case strings.Contains(k, ".") || name == "_has":
			return nil, fhir.Errorf(r4.IssueTypeNotSupported, "", "conditional criteria cannot chain (%s): name the resource's own search parameters", k)
		case strings.HasPrefix(name, "_") && !slices.Contains([]string{"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source"}, name):
			return nil, fhir.Errorf(r4.IssueTypeNotSupported, "", "%s is not a search criterion; conditional interactions take search parameters only", k)
		}
	}
	query, warns, err := search.ParseQuery(typ, q, search.Lookup)
	if err != nil {
		return nil, err
	}
	if len(warns) > 0 {
		return nil, search.IssuesError(warns)
	}
	return query, nil
}

// ClaimKey is the claim of criteria q on typ within board: the
// parameters sorted by name, and the values of a repeated parameter
// sorted, so that equivalent URLs share a claim.
func ClaimKey(typ, board string, q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(typ + "\x00" + board)
	for _, k := range keys {
		vs := slices.Clone(q[k])
		slices.Sort(vs)
		for _, v := range vs {
			b.WriteString("\x00" + k + "=" + v)
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return typ + ":" + hex.EncodeToString(sum[:])
}

// writeTenancy restricts a conditional search to what a may change.
func (a Access) writeTenancy() Tenancy {
	return Tenancy{Board: a.Board, Patient: a.Patient}
}

// matches returns up to limit+1 current matches of query among what a
// may change.
func (s *Resources) matches(ctx context.Context, a Access, query *search.Query, limit int) ([]Record, error) {
	q := *query
	q.Count = limit + 1
	q.Sort = nil
	res, err := s.store.Search(ctx, SearchQuery{Type: q.Type, Query: &q, Tenancy: a.writeTenancy()})
	if err != nil {
		return nil, fmt.Errorf("conditional %s: %w", q.Type, err)
	}
	return res.Matches, nil
}

// Match returns the current matches of criteria on typ among the
// resources the caller may change: at most two, which tells none, one
// and several apart.
func (s *Resources) Match(ctx context.Context, typ string, q url.Values) ([]Record, error) {
	a, err := access(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkTypeID(typ, "x"); err != nil {
		return nil, err
	}
	query, err := criteria(typ, q)
	if err != nil {
		return nil, err
	}
	return s.matches(ctx, a, query, 1)
}

// errSeveral is the 412 of criteria matching more than one resource.
func errSeveral(typ string, n int, limit int) error {
	more := ""
	if n > limit {
		more = " or more"
	}
	return fmt.Errorf("%w: the criteria match %d%s %s resources; make them more selective", ErrPrecondition, n, more, typ)
}

// satisfies reports whether body, a typ resource, matches query: a
// conditional write must write what its criteria describe, or the next
// conditional write with them would not find it.
func satisfies(typ string, body []byte, query *search.Query) (bool, error) {
	idx, err := search.Extract(typ, body)
	if err != nil {
		return false, err
	}
	return search.MatchesAll(query.Clauses, idx), nil
}

// conditionalWrite checks a conditional create's or update's request:
// the caller's access, the type, the criteria and the body.
func conditionalWrite(ctx context.Context, typ string, body []byte, q url.Values) (Access, *search.Query, *fhir.Resource, error) {
	a, err := access(ctx)
	if err != nil {
		return Access{}, nil, nil, err
	}
	if err := checkTypeID(typ, "x"); err != nil {
		return Access{}, nil, nil, err
	}
	query, err := criteria(typ, q)
	if err != nil {
		return Access{}, nil, nil, err
	}
	res, err := fhir.Parse(typ, body)
	return a, query, res, err
}

// ConditionalCreate creates body unless criteria already match (R4
// If-None-Exist): no match creates it, one match returns that resource
// with created false, several fail with ErrPrecondition (412). Racing
// creates with the same criteria create one resource (see the claims
// above).
func (s *Resources) ConditionalCreate(ctx context.Context, typ string, body []byte, q url.Values) (rec Record, created bool, err error) {
	a, query, res, err := conditionalWrite(ctx, typ, body, q)
	if err != nil {
		return Record{}, false, err
	}
	board := a.ownBoard(typ)
	if err := a.mayWrite(typ, res.Patients("")); err != nil {
		return Record{}, false, err
	}
	newRecord := func(id string) (Record, error) {
		rec := Record{Type: typ, ID: id, Version: 1, Method: "POST", Created: true, LastUpdated: s.timestamp(),
			Board: board, Patients: res.Patients(id), Client: a.Client}
		if err := a.mayWrite(typ, rec.Patients); err != nil {
			return Record{}, err
		}
		var err error
		rec.Body, err = res.Stamp(rec.ID, rec.Version, rec.LastUpdated, rec.Board)
		return rec, err
	}
	// The resource must match its own criteria (HAPI checks this too).
	probe, err := newRecord(newID())
	if err != nil {
		return Record{}, false, err
	}
	if ok, err := satisfies(typ, probe.Body, query); err != nil {
		return Record{}, false, err
	} else if !ok {
		return Record{}, false, fhir.Errorf(r4.IssueTypeInvalid, "", "the %s does not match its own If-None-Exist criteria, so a repeated request would create it again", typ)
	}
	found := func(rec Record) (Record, bool, error) { return rec, false, nil }
	rec, created, err = s.claimed(ctx, a, typ, q, query, "", found, func(id string) (Record, bool, error) {
		rec, err := newRecord(id)
		if err != nil {
			return Record{}, false, err
		}
		if err := s.put(ctx, a, &rec, nil); err != nil {
			return Record{}, false, fmt.Errorf("create %s: %w", typ, err)
		}
		return rec, true, nil
	})
	return rec, created, err
}

// claimed runs a conditional write: with one match it runs found on it,
// with several it fails, and otherwise it takes the criteria's claim for
// the id want (a new one if "") and runs create with it. Losing the claim
// to another writer runs found on that writer's resource once it exists.
func (s *Resources) claimed(ctx context.Context, a Access, typ string, q url.Values, query *search.Query, want string,
	found func(Record) (Record, bool, error), create func(id string) (Record, bool, error)) (Record, bool, error) {
	deadline := s.now().Add(s.retry)
	backoff := time.Millisecond
	for {
		match, id, err := s.claimRound(ctx, a, typ, q, query, want, nil)
		switch {
		case err == nil && match != nil:
			return found(*match)
		case err == nil:
			rec, created, err := create(id)
			if err != nil {
				s.spend(ctx, a, typ, id)
			}
			return rec, created, err
		case !errors.Is(err, errClaimBusy):
			return Record{}, false, err
		case s.now().After(deadline):
			return Record{}, false, fmt.Errorf("conditional %s: %w: %w", typ, ErrVersionConflict, err)
		}
		select {
		case <-ctx.Done():
			return Record{}, false, ctx.Err()
		case <-time.After(backoff/2 + rand.N(backoff)):
		}
		backoff = min(backoff*2, 50*time.Millisecond)
	}
}

// claimRound is one round of a conditional write: the one match if
// there is one (several fail), or the id a new resource gets (want, or a
// new one if ""), under the criteria's claim. A claim held by a writer
// that has not written yet is errClaimBusy: wait and try again. mine, if
// not nil, keeps the claims taken, and a claim in it is reused.
func (s *Resources) claimRound(ctx context.Context, a Access, typ string, q url.Values, query *search.Query, want string, mine map[string]string) (*Record, string, error) {
	ms, err := s.matches(ctx, a, query, 1)
	if err != nil {
		return nil, "", err
	}
	switch len(ms) {
	case 0:
	case 1:
		return &ms[0], "", nil
	default:
		return nil, "", errSeveral(typ, len(ms), 1)
	}
	key := ClaimKey(typ, a.ownBoard(typ), q)
	if id, ok := mine[key]; ok {
		return nil, id, nil
	}
	c, err := s.store.CurrentClaim(ctx, key)
	if err != nil {
		return nil, "", err
	}
	if c.Gen > 0 {
		rec, held, err := s.holds(ctx, a, typ, c, query)
		switch {
		case err != nil:
			return nil, "", err
		case held && rec.ID != "":
			return &rec, "", nil
		case held:
			return nil, "", errClaimBusy
		}
	}
	id := want
	if id == "" {
		id = newID()
	}
	err = s.store.TakeClaim(ctx, Claim{Key: key, Gen: c.Gen + 1, ID: id, At: s.now().UTC()})
	if errors.Is(err, ErrVersionConflict) {
		return nil, "", errClaimBusy
	}
	if err != nil {
		return nil, "", err
	}
	if mine != nil {
		mine[key] = id
	}
	return nil, id, nil
}

// spend spends the claim held by id, a resource its claimant failed to
// create, so that other conditional writes need not wait for it to go
// stale: a tombstone as version 1 of id, as holds writes. If the
// resource exists after all, the tombstone loses the version claim and
// nothing changes.
func (s *Resources) spend(ctx context.Context, a Access, typ, id string) {
	tomb := Record{Type: typ, ID: id, Version: 1, Method: "DELETE", Deleted: true, LastUpdated: s.timestamp(),
		Board: a.ownBoard(typ), Client: a.Client}
	_ = s.store.Put(context.WithoutCancel(ctx), tomb, 0)
}

// errClaimBusy: another writer holds the claim of a conditional create
// and has not written its resource yet; wait and try again.
var errClaimBusy = errors.New("another request is creating the resource these criteria describe")

// holds reports whether claim c still holds: its resource exists and
// matches query (rec is that resource), or has not been written yet by
// a writer that may still be alive (rec empty). A resource the caller
// may not change holds the claim too, and fails with ErrPrecondition.
func (s *Resources) holds(ctx context.Context, a Access, typ string, c Claim, query *search.Query) (Record, bool, error) {
	cur, err := s.store.Current(ctx, typ, c.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		if s.now().Sub(c.At) < s.staleAfter {
			return Record{}, true, nil
		}
		// The claimant died before creating: fence its id with a
		// tombstone, so that it cannot be created late. Losing that
		// version means the create was claimed after all; repair
		// completes it, and the next round finds it.
		tomb := Record{Type: typ, ID: c.ID, Version: 1, Method: "DELETE", Deleted: true, LastUpdated: s.timestamp(),
			Board: a.ownBoard(typ), Client: a.Client}
		if err := s.store.Put(ctx, tomb, 0); err != nil && !errors.Is(err, ErrVersionConflict) {
			return Record{}, false, err
		}
		return Record{}, true, nil
	case err != nil:
		return Record{}, false, err
	case cur.Deleted:
		return Record{}, false, nil
	}
	ok, err := satisfies(typ, cur.Body, query)
	if err != nil || !ok {
		return Record{}, false, err
	}
	if !a.owns(cur) {
		return Record{}, false, fmt.Errorf("%w: the criteria match a resource this client may not change", ErrPrecondition)
	}
	return cur, true, nil
}

// ConditionalUpdate updates the one resource criteria match (R4
// conditional update): with no match it creates body (under the
// criteria's claim, as ConditionalCreate: racers create one resource and
// update it in turn; with the id in body when there is one, as
// update-as-create), with several it fails with ErrPrecondition. An id in
// body must be the match's. ifMatch applies to the match.
func (s *Resources) ConditionalUpdate(ctx context.Context, typ string, body []byte, q url.Values, ifMatch *int) (Record, bool, error) {
	a, query, res, err := conditionalWrite(ctx, typ, body, q)
	if err != nil {
		return Record{}, false, err
	}
	if res.ID != "" && !fhir.ValidID(res.ID) {
		return Record{}, false, fhir.Errorf(r4.IssueTypeValue, typ+".id", "%q is not a valid resource id", res.ID)
	}
	found := func(m Record) (Record, bool, error) {
		if res.ID != "" && res.ID != m.ID {
			return Record{}, false, fhir.Errorf(r4.IssueTypeInvalid, typ+".id", "the resource's id (%s) is not the id of the resource the criteria match (%s)", res.ID, m.ID)
		}
		return s.update(ctx, a, typ, m.ID, res, ifMatch, nil)
	}
	create := func(id string) (Record, bool, error) {
		if ifMatch != nil {
			return Record{}, false, fmt.Errorf("%s: the criteria match nothing: %w", typ, ErrPrecondition)
		}
		return s.update(ctx, a, typ, id, res, nil, nil)
	}
	// The body is checked against the criteria only when it may be
	// created: an update of the match may take it out of them.
	ms, err := s.matches(ctx, a, query, 1)
	if err != nil {
		return Record{}, false, err
	}
	if len(ms) == 0 {
		if ifMatch != nil {
			return Record{}, false, fmt.Errorf("%s: the criteria match nothing: %w", typ, ErrPrecondition)
		}
		probeID := res.ID
		if probeID == "" {
			probeID = newID()
		}
		probe, err := res.Stamp(probeID, 1, s.timestamp(), a.ownBoard(typ))
		if err != nil {
			return Record{}, false, err
		}
		if ok, err := satisfies(typ, probe, query); err != nil {
			return Record{}, false, err
		} else if !ok {
			return Record{}, false, fhir.Errorf(r4.IssueTypeInvalid, "", "the %s does not match the criteria it is written with, so a repeated request would create it again", typ)
		}
	}
	return s.claimed(ctx, a, typ, q, query, res.ID, found, create)
}

// ConditionalDelete deletes the resources criteria match (R4 conditional
// delete): none is success with nothing deleted; one is deleted; several
// fail with ErrPrecondition unless limit > 1 allows deleting up to limit
// of them, as one all-or-nothing commit. It returns the tombstones.
func (s *Resources) ConditionalDelete(ctx context.Context, typ string, q url.Values, limit int) ([]Record, error) {
	a, err := access(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkTypeID(typ, "x"); err != nil {
		return nil, err
	}
	if fhir.IsShared(typ) && !a.Admin || !fhir.IsShared(typ) && a.Board == "" {
		return nil, a.mayWrite(typ, nil)
	}
	query, err := criteria(typ, q)
	if err != nil {
		return nil, err
	}
	limit = max(1, min(limit, maxCriteriaMatches))
	found, err := s.matches(ctx, a, query, limit)
	if err != nil {
		return nil, err
	}
	if len(found) > limit || len(found) > 1 && limit == 1 {
		return nil, errSeveral(typ, len(found), limit)
	}
	if len(found) <= 1 {
		var out []Record
		for _, m := range found {
			rec, done, err := s.Delete(ctx, typ, m.ID, nil)
			if err != nil {
				return nil, err
			}
			if done {
				out = append(out, rec)
			}
		}
		return out, nil
	}
	// Several: one all-or-nothing commit of their tombstones, prepared
	// again if one of them changed meanwhile.
	deadline := s.now().Add(s.retry)
	for len(found) > 0 {
		var writes []Write
		var out []Record
		now := s.timestamp()
		for _, m := range found {
			rec := Record{Type: typ, ID: m.ID, Version: m.Version + 1, Method: "DELETE", Deleted: true, LastUpdated: now,
				Board: m.Board, Patients: m.Patients, Client: a.Client}
			if rec.LastUpdated.Before(m.LastUpdated) {
				rec.LastUpdated = m.LastUpdated
			}
			writes = append(writes, Write{Rec: rec, Prev: m.Version})
			out = append(out, rec)
		}
		err := s.store.Commit(ctx, writes)
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, ErrVersionConflict) || s.now().After(deadline) {
			return nil, fmt.Errorf("conditional delete of %s: %w", typ, err)
		}
		if found, err = s.matches(ctx, a, query, limit); err != nil {
			return nil, err
		}
		if len(found) > limit {
			return nil, errSeveral(typ, len(found), limit)
		}
	}
	return nil, nil
}
