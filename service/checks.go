package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/clinical"
	"github.com/matcare/matcare/fhir/content"
	"github.com/matcare/matcare/fhir/search"
	"github.com/matcare/matcare/fhir/terminology"
)

// Content is the clinical content a server enforces on writes (issue 7):
// the canonical base its content hangs off and the content resources
// loaded from package content. Resources without Content (tests of the
// interactions themselves) run no content checks.
type Content struct {
	// Base is the canonical base, such as http://matcare.example/fhir.
	Base string
	// Resources are the server-managed content resources, stored at
	// start-up by LoadContent.
	Resources []content.Resource
	managed   map[string]content.Resource // by canonical url
	drugs     *clinical.DrugTable         // the benzodiazepine table, under Base
	// Terms are the content's code systems and value sets.
	Terms *terminology.Registry
}

// NewContent loads the content files under base.
func NewContent(base string) (*Content, error) {
	rs, err := content.Load(base)
	if err != nil {
		return nil, err
	}
	c := &Content{Base: base, Resources: rs, managed: map[string]content.Resource{}}
	if c.Base == "" {
		c.Base = content.DefaultBase
	}
	if c.drugs, err = clinical.LoadDrugs(c.Base); err != nil {
		return nil, err
	}
	if c.Terms, err = terminology.New(rs); err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.URL != "" {
			c.managed[r.URL] = r
		}
	}
	return c, nil
}

// WithContent makes s enforce c on every write.
func (s *Resources) WithContent(c *Content) *Resources {
	s.content = c
	return s
}

// pending is one version on its way to the store, as the content checks
// see it.
type pending struct {
	rec  *Record // the version to store; a check may change its Body
	prev *Record // the version it replaces; nil when there is none
	// issues are the warnings and information the checks found; errors
	// abort the write.
	issues []fhir.Issue
	// extra are writes that must be stored with rec, in the same commit
	// (an Observation a scored response yields).
	extra []Write
	// tx are the other versions of the same transaction, by "Type/id":
	// what they reference is checked against them before the store.
	tx map[string]*Record
	// profile is a profile $validate was asked to check in addition to
	// those the resource claims.
	profile string
	// dryRun: $validate; nothing is stored, so no extra writes are built.
	dryRun bool
}

// check runs the content checks on p. Errors among the issues fail the
// write with 422 and every issue found; the rest stay in p.issues.
func (s *Resources) check(ctx context.Context, a Access, p *pending) error {
	if s.content == nil || p.rec.Deleted {
		return nil
	}
	var found []fhir.Issue
	for _, c := range checks {
		is, err := c(ctx, s, a, p)
		if err != nil {
			return err
		}
		found = append(found, is...)
	}
	// Each finding once: a profile $validate names that the resource also
	// claims is checked twice.
	found = dedupe(found)
	// Errors first: the first issue decides a client's reading of the
	// outcome, and clients show the first few.
	slices.SortStableFunc(found, func(x, y fhir.Issue) int { return severityRank(x.Severity) - severityRank(y.Severity) })
	if len(found) > 0 && severityRank(found[0].Severity) <= severityRank(r4.IssueSeverityError) && !p.dryRun {
		return &fhir.Error{Status: http.StatusUnprocessableEntity, Issues: found}
	}
	p.issues = found
	p.rec.Issues = found
	return nil
}

// dedupe drops repeated issues (same severity, code, message and
// expressions), keeping the first of each.
func dedupe(is []fhir.Issue) []fhir.Issue {
	seen := map[string]bool{}
	out := is[:0]
	for _, i := range is {
		k := fmt.Sprint(i.Severity, "\x00", i.Code, "\x00", i.Diagnostics, "\x00", i.Expression)
		if !seen[k] {
			seen[k] = true
			out = append(out, i)
		}
	}
	return out
}

func severityRank(s r4.IssueSeverity) int {
	switch s {
	case r4.IssueSeverityFatal:
		return 0
	case r4.IssueSeverityError:
		return 1
	case r4.IssueSeverityWarning:
		return 2
	}
	return 3
}

// checkFunc is one content check. It returns the issues it found; an
// error is a failure to check (storage down, say), not a finding.
type checkFunc func(ctx context.Context, s *Resources, a Access, p *pending) ([]fhir.Issue, error)

// checks are run in order on every write of a non-deleted version.
var checks = []checkFunc{
	checkManaged,
	checkCodes,
	checkProfiles,
	checkGoalReview,
	checkPrescribing,
	checkQuestionnaire,
	checkResponse,
}

// checkManaged refuses a client's write of a canonical resource the
// server manages: its content comes from the files of package content,
// and a changed copy would disagree with what the server enforces.
func checkManaged(_ context.Context, s *Resources, a Access, p *pending) ([]fhir.Issue, error) {
	if a.Client == contentClient {
		return nil, nil
	}
	var head struct {
		URL string `json:"url"`
	}
	if err := jsonUnmarshal(p.rec.Body, &head); err != nil || head.URL == "" {
		return nil, nil
	}
	if r, ok := s.content.managed[head.URL]; ok && (r.Type != p.rec.Type || r.ID != p.rec.ID || !sameContent(r.Body, p.rec.Body)) {
		return []fhir.Issue{{Severity: r4.IssueSeverityError, Code: r4.IssueTypeBusinessRule, Expression: []string{p.rec.Type + ".url"},
			Diagnostics: fmt.Sprintf("%s is matcare content, stored as %s/%s at start-up from the files of the server "+
				"(fhir/content); change those files, or give your resource another url", head.URL, r.Type, r.ID)}}, nil
	}
	return nil, nil
}

// checkCodes refuses a code of one of matcare's code systems that the
// system does not define (422), and warns of a display that is not the
// code's.
func checkCodes(_ context.Context, s *Resources, _ Access, p *pending) ([]fhir.Issue, error) {
	return s.content.Terms.CheckCodings(p.rec.Body), nil
}

// put stores rec, the version after cur (nil: none), once the content
// checks passed, together with any writes they add.
func (s *Resources) put(ctx context.Context, a Access, rec *Record, cur *Record) error {
	p := pending{rec: rec, prev: cur}
	if cur != nil && cur.Deleted {
		p.prev = nil
	}
	if err := s.check(ctx, a, &p); err != nil {
		return err
	}
	prev := 0
	if cur != nil {
		prev = cur.Version
	}
	if len(p.extra) == 0 {
		return s.store.Put(ctx, *rec, prev)
	}
	return s.store.Commit(ctx, append([]Write{{Rec: *rec, Prev: prev}}, p.extra...))
}

// contentClient is the client LoadContent writes as.
const contentClient = "matcare-content"

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// sameContent reports whether two versions of a resource say the same,
// ignoring the server-owned id and meta.
func sameContent(x, y []byte) bool {
	var a, b map[string]any
	if json.Unmarshal(x, &a) != nil || json.Unmarshal(y, &b) != nil {
		return false
	}
	for _, m := range []map[string]any{a, b} {
		delete(m, "id")
		delete(m, "meta")
	}
	return reflect.DeepEqual(a, b)
}

// errUnchanged stops a content write whose stored version says the same.
var errUnchanged = errors.New("unchanged")

// LoadContent stores every content resource that is missing or says
// something else than its stored version, as a new version written by the
// server (client "matcare-content"). Several processes starting at once
// write each change once: a writer that finds the content already stored
// writes nothing. It returns how many resources it wrote.
func (s *Resources) LoadContent(ctx context.Context) (int, error) {
	if s.content == nil {
		return 0, nil
	}
	a := Access{Client: contentClient, Admin: true}
	n := 0
	for _, r := range s.content.Resources {
		res, err := fhir.Parse(r.Type, r.Body)
		if err != nil {
			return n, fmt.Errorf("content %s/%s: %w", r.Type, r.ID, err)
		}
		_, _, err = s.update(WithAccess(ctx, a), a, r.Type, r.ID, res, nil, func(cur *Record) error {
			if cur != nil && !cur.Deleted && sameContent(cur.Body, r.Body) {
				return errUnchanged
			}
			return nil
		})
		switch {
		case errors.Is(err, errUnchanged):
		case err != nil:
			return n, fmt.Errorf("content %s/%s: %w", r.Type, r.ID, err)
		default:
			n++
		}
	}
	return n, nil
}

// find returns up to limit current resources of typ matching q that a
// may change, as the write being checked would see them: the versions of
// its transaction (p.tx) replace the stored ones.
func (s *Resources) find(ctx context.Context, a Access, p *pending, typ string, q url.Values, limit int) ([]Record, error) {
	query, warns, err := search.ParseQuery(typ, q, search.Lookup)
	if err != nil {
		return nil, err
	}
	if len(warns) > 0 {
		return nil, search.IssuesError(warns)
	}
	query.Count = limit + len(p.tx)
	res, err := s.store.Search(ctx, SearchQuery{Type: typ, Query: query, Tenancy: a.writeTenancy()})
	if err != nil {
		return nil, fmt.Errorf("content check: %s search: %w", typ, err)
	}
	var out []Record
	for _, r := range res.Matches {
		if _, replaced := p.tx[r.Type+"/"+r.ID]; !replaced && r.Type+"/"+r.ID != p.rec.Type+"/"+p.rec.ID {
			out = append(out, r)
		}
	}
	for _, r := range p.tx {
		if r.Type != typ || r.Deleted || r == p.rec {
			continue
		}
		if ok, err := satisfies(typ, r.Body, query); err == nil && ok {
			out = append(out, *r)
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// resolve returns the current version of the resource a relative
// reference ("Goal/123") names, as the write being checked sees it: a
// version of its transaction first, then the store; nil if there is
// none the caller may see (or the reference is not relative).
func (s *Resources) resolve(ctx context.Context, a Access, p *pending, ref string) (*Record, error) {
	typ, id, ok := strings.Cut(ref, "/")
	if !ok || strings.Contains(id, "/") || checkTypeID(typ, id) != nil {
		return nil, nil
	}
	if r, ok := p.tx[ref]; ok {
		if r.Deleted {
			return nil, nil
		}
		return r, nil
	}
	rec, err := s.store.Current(ctx, typ, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("content check: %s: %w", ref, err)
	case rec.Deleted || !a.Sees(rec):
		return nil, nil
	}
	return &rec, nil
}
