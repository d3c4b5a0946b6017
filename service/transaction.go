package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// TxEntry is one write entry (POST, PUT, DELETE or PATCH) of a
// transaction Bundle, with the access its interaction was granted.
type TxEntry struct {
	// Index is the entry's position in the Bundle, for responses and
	// errors.
	Index int
	Entry fhir.Entry
	// IfMatch is entry.request.ifMatch as a version; nil if absent.
	IfMatch *int
	Access  Access
}

// TxOutcome is what a transaction did with one write entry.
type TxOutcome int

const (
	TxCreated TxOutcome = iota + 1 // a new resource (POST, or PUT of a new or deleted id)
	TxUpdated                      // a new version of an existing resource
	TxDeleted                      // a tombstone version
	TxMatched                      // a conditional create matched an existing resource: nothing written
	TxNothing                      // a delete found nothing to delete
)

// TxResult is the outcome of one write entry: the version written (the
// match for TxMatched; empty for TxNothing).
type TxResult struct {
	Outcome TxOutcome
	Record  Record
}

// EntryError is why a transaction failed: the error of one entry.
type EntryError struct {
	Index int
	Err   error
}

func (e *EntryError) Error() string {
	return "Bundle.entry[" + strconv.Itoa(e.Index) + "]: " + e.Err.Error()
}
func (e *EntryError) Unwrap() error { return e.Err }

// Transaction performs the write entries of a transaction Bundle as one
// all-or-nothing commit (R4 http.html §3.1.0.11): identities first
// (conditional creates and updates, deletes, ids for new resources),
// then every reference to another entry (urn:uuid:, urn:oid:, a fullUrl)
// or to a search (Type?criteria, which must match exactly one resource)
// rewritten to the resource's Type/id, then the new versions, stored by
// Store.Commit. base is the service base the Bundle's URLs are relative
// to. A transaction that lost a race for a version is prepared again
// from the start, until the write timeout. Errors are *EntryError.
func (s *Resources) Transaction(ctx context.Context, base string, entries []TxEntry) (map[int]TxResult, error) {
	deadline := s.now().Add(s.retry)
	backoff := time.Millisecond
	mine := map[string]string{} // the conditional-create claims this transaction holds: key → id
	for {
		out, writes, err := s.prepare(ctx, base, entries, mine)
		if err == nil {
			if err = s.store.Commit(ctx, writes); err == nil {
				// Claims taken in an earlier attempt for resources this
				// one did not create (a match appeared meanwhile) are
				// spent, so that nobody waits for them.
				for key, id := range mine {
					if !slices.ContainsFunc(writes, func(w Write) bool { return w.Rec.ID == id }) {
						typ, _, _ := strings.Cut(key, ":")
						s.spend(ctx, entries[0].Access, typ, id)
					}
				}
				return out, nil
			}
			err = &EntryError{Index: -1, Err: err}
		}
		retry := errors.Is(err, ErrVersionConflict) || errors.Is(err, errClaimBusy)
		if !retry || s.now().After(deadline) {
			s.release(ctx, entries, mine)
			if errors.Is(err, errClaimBusy) {
				err = fmt.Errorf("%w: %w", ErrVersionConflict, err)
			}
			return nil, err
		}
		select {
		case <-ctx.Done():
			s.release(ctx, entries, mine)
			return nil, ctx.Err()
		case <-time.After(backoff/2 + rand.N(backoff)):
		}
		backoff = min(backoff*2, 50*time.Millisecond)
	}
}

// release spends the claims of a transaction that failed, so that the
// requests waiting for its resources go on at once.
func (s *Resources) release(ctx context.Context, entries []TxEntry, mine map[string]string) {
	for key, id := range mine {
		typ, _, _ := strings.Cut(key, ":")
		s.spend(ctx, entries[0].Access, typ, id)
	}
}

// txWrite is one write entry being prepared.
type txWrite struct {
	e       TxEntry
	typ, id string
	cur     *Record // the current version (a tombstone included); nil if none
	res     *fhir.Resource
	patch   *fhir.Patch // a PATCH entry's patch, applied to cur
	outcome TxOutcome
	match   Record // the match of a TxMatched conditional create
}

// prepare resolves the entries and builds their new versions.
func (s *Resources) prepare(ctx context.Context, base string, entries []TxEntry, mine map[string]string) (map[int]TxResult, []Write, error) {
	order := make([]fhir.Entry, len(entries))
	for i, e := range entries {
		order[i] = e.Entry
	}
	ws := make([]*txWrite, 0, len(entries))
	for _, k := range fhir.Order(order) {
		w := &txWrite{e: entries[k], typ: entries[k].Entry.Request.URL.Type}
		if err := s.identify(ctx, w, mine); err != nil {
			return nil, nil, &EntryError{Index: w.e.Index, Err: err}
		}
		ws = append(ws, w)
	}
	// Each resource once (http.html: a resource can only appear in a
	// transaction once), now that conditional URLs are resolved.
	seen := map[string]int{}
	for _, w := range ws {
		if w.outcome == TxMatched || w.outcome == TxNothing {
			continue
		}
		key := w.typ + "/" + w.id
		if j, dup := seen[key]; dup {
			return nil, nil, &EntryError{Index: w.e.Index, Err: fhir.Errorf(r4.IssueTypeInvalid, "", "entry %d also writes %s; a transaction may change a resource only once", j, key)}
		}
		seen[key] = w.e.Index
	}
	ids := fullURLs(base, ws)
	resolved := map[string]string{} // conditional references already searched
	now := s.timestamp()
	out := make(map[int]TxResult, len(ws))
	recs := make([]Record, len(ws))
	prevs := make([]int, len(ws))
	tx := map[string]*Record{} // the new versions, for the content checks
	for i, w := range ws {
		rec, prev, err := s.version(ctx, base, w, ids, resolved, now)
		if err != nil {
			return nil, nil, &EntryError{Index: w.e.Index, Err: err}
		}
		recs[i], prevs[i] = rec, prev
		if w.outcome != TxMatched && w.outcome != TxNothing {
			tx[rec.Type+"/"+rec.ID] = &recs[i]
		}
	}
	var writes, extra []Write
	for i, w := range ws {
		switch w.outcome {
		case TxMatched:
			out[w.e.Index] = TxResult{Outcome: TxMatched, Record: w.match}
		case TxNothing:
			out[w.e.Index] = TxResult{Outcome: TxNothing}
		default:
			p := pending{rec: &recs[i], prev: w.cur, tx: tx}
			if w.cur != nil && w.cur.Deleted {
				p.prev = nil
			}
			if err := s.check(ctx, w.e.Access, &p); err != nil {
				return nil, nil, &EntryError{Index: w.e.Index, Err: err}
			}
			out[w.e.Index] = TxResult{Outcome: w.outcome, Record: recs[i]}
			writes = append(writes, Write{Rec: recs[i], Prev: prevs[i]})
			extra = append(extra, p.extra...)
		}
	}
	return out, append(writes, extra...), nil
}

// identify decides which resource w writes and how: its id, its current
// version and its outcome. Conditional creates take claims as
// ConditionalCreate does, kept in mine across attempts.
func (s *Resources) identify(ctx context.Context, w *txWrite, mine map[string]string) error {
	e, a := w.e.Entry, w.e.Access
	u := e.Request.URL
	if err := checkTypeID(w.typ, "x"); err != nil {
		return err
	}
	if u.Operation != "" {
		return fhir.Errorf(r4.IssueTypeNotSupported, "", "operation %s is not supported", u.Operation).WithStatus(http.StatusNotImplemented)
	}
	switch e.Request.Method {
	case http.MethodPost:
		res, err := fhir.Parse(w.typ, e.Resource)
		if err != nil {
			return err
		}
		w.res, w.outcome = res, TxCreated
		if e.Request.IfNoneExist == nil {
			w.id = newID()
			return nil
		}
		query, err := criteria(w.typ, e.Request.IfNoneExist)
		if err != nil {
			return err
		}
		match, id, err := s.claimRound(ctx, a, w.typ, e.Request.IfNoneExist, query, "", mine)
		if err != nil {
			return err
		}
		if match != nil {
			w.id, w.outcome, w.match = match.ID, TxMatched, *match
			return nil
		}
		w.id = id
		return nil
	case http.MethodPut:
		res, err := fhir.Parse(w.typ, e.Resource)
		if err != nil {
			return err
		}
		w.res = res
		if u.ID != "" {
			if err := checkTypeID(w.typ, u.ID); err != nil {
				return err
			}
			if res.ID != u.ID {
				return fhir.Errorf(r4.IssueTypeInvalid, w.typ+".id", "the resource's id (%q) must be the id in the request url (%s)", res.ID, u.ID)
			}
			w.id = u.ID
			return s.current(ctx, w, fmt.Errorf("%s/%s: %w", w.typ, u.ID, ErrIDTaken))
		}
		query, err := criteria(w.typ, u.Query)
		if err != nil {
			return err
		}
		match, id, err := s.claimRound(ctx, a, w.typ, u.Query, query, res.ID, mine)
		if err != nil {
			return err
		}
		w.id = id
		if match != nil {
			if res.ID != "" && res.ID != match.ID {
				return fhir.Errorf(r4.IssueTypeInvalid, w.typ+".id", "the resource's id (%s) is not the id of the resource the criteria match (%s)", res.ID, match.ID)
			}
			w.id = match.ID
		}
		return s.current(ctx, w, fmt.Errorf("%s/%s: %w", w.typ, w.id, ErrIDTaken))
	case http.MethodDelete:
		if fhir.IsShared(w.typ) && !a.Admin || !fhir.IsShared(w.typ) && a.Board == "" {
			return a.mayWrite(w.typ, nil)
		}
		w.outcome = TxDeleted
		id, found, err := s.target(ctx, a, w.typ, u)
		if err != nil {
			return err
		}
		if !found {
			w.outcome = TxNothing
			return nil
		}
		w.id = id
		if err := s.current(ctx, w, nil); err != nil {
			return err
		}
		if w.cur == nil || w.cur.Deleted {
			if w.e.IfMatch != nil {
				return fmt.Errorf("%s/%s: %w", w.typ, w.id, ErrPrecondition)
			}
			w.outcome = TxNothing
		}
		return nil
	case http.MethodPatch:
		p, err := fhir.ParsePatch(e.Patch)
		if err != nil {
			return err
		}
		w.patch, w.outcome = p, TxUpdated
		id, found, err := s.target(ctx, a, w.typ, u)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%s?%s: no resource matches the criteria: %w", w.typ, u.Query.Encode(), ErrNotFound)
		}
		w.id = id
		if err := s.current(ctx, w, errHidden); errors.Is(err, errHidden) {
			return s.hiddenError(ctx, a, w.typ, w.id)
		} else if err != nil {
			return err
		}
		switch {
		case w.cur == nil:
			return fmt.Errorf("%s/%s: %w", w.typ, w.id, ErrNotFound)
		case w.cur.Deleted:
			return fmt.Errorf("%s/%s: %w", w.typ, w.id, ErrGone)
		}
		return nil
	}
	return fhir.Errorf(r4.IssueTypeNotSupported, "", "%s is not supported in a transaction", e.Request.Method)
}

// target is the resource an entry's url names: its id, or the one
// match of its criteria among what a may change (found false: none).
// Several matches fail.
func (s *Resources) target(ctx context.Context, a Access, typ string, u fhir.RequestURL) (id string, found bool, err error) {
	if u.ID != "" {
		return u.ID, true, checkTypeID(typ, u.ID)
	}
	query, err := criteria(typ, u.Query)
	if err != nil {
		return "", false, err
	}
	ms, err := s.matches(ctx, a, query, 1)
	switch {
	case err != nil:
		return "", false, err
	case len(ms) > 1:
		return "", false, errSeveral(typ, len(ms), 1)
	case len(ms) == 1:
		return ms[0].ID, true, nil
	}
	return "", false, nil
}

// current reads w's current version and checks If-Match. A version the
// caller may not change fails with hidden, or counts as absent when
// hidden is nil.
func (s *Resources) current(ctx context.Context, w *txWrite, hidden error) error {
	c, err := s.store.Current(ctx, w.typ, w.id)
	switch {
	case err == nil:
		if !w.e.Access.owns(c) {
			if hidden != nil {
				return hidden
			}
			break
		}
		w.cur = &c
	case !errors.Is(err, ErrNotFound):
		return err
	}
	if w.e.IfMatch != nil && (w.cur == nil || w.cur.Deleted || w.cur.Version != *w.e.IfMatch) {
		return fmt.Errorf("%s/%s: %w", w.typ, w.id, ErrPrecondition)
	}
	if w.e.Entry.Request.Method == http.MethodPut {
		w.outcome = TxUpdated
		if w.cur == nil || w.cur.Deleted {
			w.outcome = TxCreated
		}
	}
	return nil
}

// fullURLs maps each entry's fullUrl (in canonical form, see
// fhir.Ref.String) to the Type/id it was given.
func fullURLs(base string, ws []*txWrite) map[string]string {
	ids := map[string]string{}
	for _, w := range ws {
		if w.e.Entry.FullURL == "" || w.id == "" {
			continue
		}
		key := w.e.Entry.FullURL
		if r, err := fhir.ParseReference(key, base); err == nil {
			key = r.String()
		}
		ids[key] = w.typ + "/" + w.id
	}
	return ids
}

// version builds w's new version (rec, following prev), with its
// references to other entries and searches resolved.
func (s *Resources) version(ctx context.Context, base string, w *txWrite, ids, resolved map[string]string, now time.Time) (rec Record, prev int, err error) {
	if w.outcome == TxMatched || w.outcome == TxNothing {
		return Record{}, 0, nil
	}
	a := w.e.Access
	rec = Record{Type: w.typ, ID: w.id, Version: 1, LastUpdated: now, Client: a.Client, Board: a.ownBoard(w.typ)}
	if w.cur != nil {
		prev = w.cur.Version
		rec.Version = prev + 1
		if rec.LastUpdated.Before(w.cur.LastUpdated) {
			rec.LastUpdated = w.cur.LastUpdated
		}
	}
	switch w.outcome {
	case TxDeleted:
		rec.Method, rec.Deleted, rec.Board, rec.Patients = "DELETE", true, w.cur.Board, w.cur.Patients
		return rec, prev, nil
	case TxCreated:
		rec.Created = true
	}
	rec.Method = w.e.Entry.Request.Method
	src := w.e.Entry.Resource
	if w.patch != nil {
		if src, err = w.patch.Apply(w.cur.Body); err != nil {
			return Record{}, 0, err
		}
	}
	body, err := fhir.RewriteReferences(src, func(ref string) (string, bool, error) {
		return s.resolveReference(ctx, base, w, ref, ids, resolved)
	})
	if err != nil {
		return Record{}, 0, err
	}
	res := w.res // identify parsed the entry's resource; parse again only what changed
	if w.patch != nil || res == nil || !bytes.Equal(body, src) {
		res, err = fhir.Parse(w.typ, body)
	}
	if w.patch != nil {
		switch {
		case err != nil:
			return Record{}, 0, unprocessable(err)
		case res.ID != w.id:
			return Record{}, 0, patchError(w.typ+".id", "the patch changes or removes id; a patch cannot change a resource's id")
		}
	}
	if err != nil {
		return Record{}, 0, err
	}
	rec.Patients = res.Patients(w.id)
	if err := a.mayWrite(w.typ, rec.Patients); err != nil {
		return Record{}, 0, err
	}
	rec.Body, err = res.Stamp(w.id, rec.Version, rec.LastUpdated, rec.Board)
	return rec, prev, err
}

// resolveReference rewrites one reference of w's resource: to another
// entry's resource (by its fullUrl) or to the one match of a conditional
// reference.
func (s *Resources) resolveReference(ctx context.Context, base string, w *txWrite, ref string, ids, resolved map[string]string) (string, bool, error) {
	r, err := fhir.ParseReference(ref, base)
	if err != nil {
		return "", false, err
	}
	switch r.Kind {
	case fhir.RefPlaceholder:
		if to, ok := ids[r.URN]; ok {
			return to, true, nil
		}
		return "", false, fhir.Errorf(r4.IssueTypeNotFound, "", "reference %s names no entry's fullUrl in this transaction", ref)
	case fhir.RefConditional:
		key := r.Type + "?" + r.Query.Encode()
		if to, ok := resolved[key]; ok {
			return to, true, nil
		}
		if err := checkTypeID(r.Type, "x"); err != nil {
			return "", false, err
		}
		query, err := criteria(r.Type, r.Query)
		if err != nil {
			return "", false, err
		}
		ms, err := s.matches(ctx, w.e.Access, query, 1)
		if err != nil {
			return "", false, err
		}
		if len(ms) != 1 {
			return "", false, fmt.Errorf("%w: the conditional reference %s matches %d resources, not one", ErrPrecondition, ref, len(ms))
		}
		to := r.Type + "/" + ms[0].ID
		resolved[key] = to
		return to, true, nil
	case fhir.RefLocal, fhir.RefExternal:
		if to, ok := ids[r.String()]; ok && to != r.String() {
			return to, true, nil
		}
	case fhir.RefOther:
	}
	// A relative reference in an entry whose fullUrl is an absolute URL of
	// another server means that server's resource (bundle.html).
	if abs := fhir.AbsoluteReference(ref, w.e.Entry.FullURL); abs != ref {
		if to, ok := ids[abs]; ok {
			return to, true, nil
		}
	}
	return "", false, nil
}
