package repository

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/search"
	"github.com/matcare/matcare/service"
)

// Search limits. A chain or _has whose inner search matches more than
// maxJoin resources is refused as too costly (the ids become one $in);
// one include level adds at most maxIncluded resources, and _include
// :iterate follows at most maxIncludeDepth levels.
const (
	maxJoin         = 10000
	maxIncluded     = 1000
	maxIncludeDepth = 4
)

// errTooCostly is a search refused for its cost.
func errTooCostly(format string, args ...any) error {
	return fhir.Errorf(r4.IssueTypeTooCostly, "", format, args...).WithStatus(400)
}

// plan is a search of one type translated for storage: a filter every
// match satisfies (a superset of the matches where FerretDB cannot say
// exactly what search means), and the clauses package search's Matches
// then checks on each candidate.
type plan struct {
	typ    string
	filter bson.D
	post   []search.Clause
	// exact: the filter alone selects the matches (counts need no post
	// filter).
	exact bool

	// ids, when not nil, are the only ids that can match (the _id
	// clauses intersected). On FerretDB, whose queries scan the whole
	// collection unless they are exactly {_id: x}, a plan with up to
	// maxIDLookups of them is read by point lookups instead, checking in
	// Go what the filter states: tenancy, compartment, deletion,
	// _lastUpdated (lu) and the other clauses (post).
	ids         []string
	chained     bool
	tenancy     service.Tenancy
	compartment string
	lu          []search.Clause
}

// maxIDLookups is the most ids a FerretDB search reads by point lookups
// (each served by the _id index the embedded server adds) rather than by
// one query (a scan).
const maxIDLookups = 100

// Search implements service.Store. A type search reads one query per
// page (more only when candidates the filter let through fail the exact
// check), plus one per chain or _has level and one per include level and
// type. Without server transactions it is read consistently (see
// consistently): one more query, of the journal, a few point lookups,
// and a second reading if a transaction writing a type it reads
// committed during the first.
func (s *Store) Search(ctx context.Context, q service.SearchQuery) (service.SearchResult, error) {
	var res service.SearchResult
	err := s.consistently(ctx, true, readTypes(q), func() error {
		var err error
		res, err = s.search1(ctx, q)
		return err
	})
	return res, err
}

// readTypes are the types a search may read: those searched, or all of
// them when it follows chains, _has or includes.
func readTypes(q service.SearchQuery) []string {
	if q.Query == nil || len(q.Query.Include) > 0 || len(q.Query.RevInclude) > 0 ||
		slices.ContainsFunc(q.Query.Clauses, func(c search.Clause) bool { return len(c.Chain) > 0 }) {
		return nil
	}
	if q.Type != "" {
		return []string{q.Type}
	}
	return q.Types
}

// search1 reads one page of a search.
func (s *Store) search1(ctx context.Context, q service.SearchQuery) (service.SearchResult, error) {
	sq := localQuery(q.Query, s.opts.BaseURL)
	types := q.Types
	if q.Type != "" {
		types = []string{q.Type}
	}
	var plans []plan
	for _, typ := range types {
		p, ok, err := s.plan(ctx, typ, sq.Clauses, q)
		if err != nil {
			return service.SearchResult{}, err
		}
		if ok {
			plans = append(plans, p)
		}
	}
	var res service.SearchResult
	keys := sortFields(sq.Sort)
	if sq.Count > 0 {
		docs, more, err := s.page(ctx, plans, keys, q.After, sq.Count)
		if err != nil {
			return res, err
		}
		for _, d := range docs {
			res.Matches = append(res.Matches, d.rec())
		}
		back := q.After != nil && q.After.Back
		if n := len(docs); n > 0 {
			first, last := cursorOf(docs[0], keys), cursorOf(docs[n-1], keys)
			first.Back = true
			switch {
			case back:
				res.Next = &last
				if more {
					res.Prev = &first
				}
			default:
				if more {
					res.Next = &last
				}
				if q.After != nil {
					res.Prev = &first
				}
			}
		}
		inc, err := s.include(ctx, q, sq, docs)
		if err != nil {
			return res, err
		}
		res.Included = inc
	}
	switch {
	case sq.Total == search.TotalNone:
	case sq.Total != search.TotalDefault || sq.Count == 0:
		n, err := s.count(ctx, plans)
		if err != nil {
			return res, err
		}
		res.Total, res.HasTotal = n, true
	case q.After == nil && res.Next == nil:
		res.Total, res.HasTotal = int64(len(res.Matches)), true
	}
	return res, nil
}

// localQuery returns q with references to this server's base URL made
// relative, and those to other servers matched by their URL only.
func localQuery(q *search.Query, base string) *search.Query {
	out := *q
	out.Clauses = slices.Clone(q.Clauses)
	prefix := strings.TrimSuffix(base, "/") + "/"
	for i, c := range out.Clauses {
		if c.Param.Kind != search.Reference || c.Modifier == search.ModIdentifier || c.Modifier == search.ModMissing {
			continue
		}
		vals := slices.Clone(c.Values)
		for j, v := range vals {
			if v.Reference == nil || v.Reference.URL == "" {
				continue
			}
			r := *v.Reference
			if rest, ok := strings.CutPrefix(r.URL, prefix); ok && base != "" && isTypeID(rest) {
				r.URL = ""
			} else {
				r.Type, r.ID = "", ""
			}
			vals[j].Reference = &r
		}
		out.Clauses[i].Values = vals
	}
	return &out
}

// plan translates the clauses for resources of typ; ok is false when a
// chain already shows that nothing can match.
func (s *Store) plan(ctx context.Context, typ string, clauses []search.Clause, q service.SearchQuery) (plan, bool, error) {
	p := plan{typ: typ, exact: true, tenancy: q.Tenancy, compartment: q.Compartment}
	if nothingFor(typ, q.Tenancy) {
		return p, false, nil
	}
	f := tenancyFilter(typ, q.Tenancy)
	if typ != service.AuditType {
		f = append(bson.D{{Key: "deleted", Value: false}}, f...)
	}
	var and bson.A
	if q.Compartment != "" { // in $and: the tenancy filter may name pat too
		and = append(and, bson.D{{Key: "pat", Value: q.Compartment}})
	}
	for _, c := range clauses {
		if len(c.Chain) > 0 {
			cf, ok, err := s.chainFilter(ctx, typ, c, q)
			if err != nil || !ok {
				return p, false, err
			}
			and = append(and, cf)
			p.chained = true
			continue
		}
		if cf, ok := ownFieldFilter(c); ok {
			and = append(and, cf)
			p.restrict(c)
			continue
		}
		cf, exact := clauseFilter(typ, c)
		if cf != nil {
			and = append(and, cf)
		}
		p.exact = p.exact && exact
		p.post = append(p.post, c)
	}
	if len(and) > 0 {
		f = append(f, bson.E{Key: "$and", Value: and})
	}
	p.filter = f
	return p, true, nil
}

// restrict records an _id or _lastUpdated clause for point lookups.
func (p *plan) restrict(c search.Clause) {
	if c.Param.Name != "_id" {
		p.lu = append(p.lu, c)
		return
	}
	var ids []string
	for _, v := range c.Values {
		if p.ids == nil || slices.Contains(p.ids, v.Token.Code) {
			ids = append(ids, v.Token.Code)
		}
	}
	if ids == nil {
		ids = []string{} // disjoint _id clauses: nothing can match
	}
	p.ids = ids
}

// lookups reports whether p is read by point lookups.
func (s *Store) lookups(p plan) bool {
	return s.ferret && p.ids != nil && len(p.ids) <= maxIDLookups && !p.chained
}

// lookup reads the matches of p by one point lookup per id, in the order
// keys and after the cursor, up to limit.
func (s *Store) lookup(ctx context.Context, p plan, keys []sortField, after *service.Cursor, back bool, limit int) ([]currentDoc, error) {
	ids := slices.Compact(slices.Sorted(slices.Values(p.ids)))
	var out []currentDoc
	for _, id := range ids {
		var d currentDoc
		err := s.coll(p.typ).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return nil, s.storageErr("search", err)
		}
		d.typ = p.typ
		if s.lookupMatches(p, d) && (after == nil || follows(d, keys, after, back)) {
			out = append(out, d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if back {
			return less(out[j], out[i], keys)
		}
		return less(out[i], out[j], keys)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// lookupMatches checks on d, read by a point lookup, what p's filter
// states.
func (s *Store) lookupMatches(p plan, d currentDoc) bool {
	rec := d.rec()
	if d.Deleted || !p.tenancy.Allows(rec) || p.compartment != "" && !slices.Contains(d.Pat, p.compartment) {
		return false
	}
	for _, c := range p.lu {
		if !slices.ContainsFunc(c.Values, func(v search.QueryValue) bool { return instantMatches(d.LU, v.Prefix, v.Date) }) {
			return false
		}
	}
	return s.matches(p, d)
}

// instantMatches is instantCond evaluated on t.
func instantMatches(t time.Time, pre search.Prefix, d *search.DateValue) bool {
	lo, hi := ceilMilli(d.Lo), ceilMilli(d.Hi)
	switch pre {
	case search.PrefixGt, search.PrefixSa:
		return !t.Before(hi)
	case search.PrefixLt, search.PrefixEb:
		return t.Before(lo)
	case search.PrefixGe:
		return !t.Before(lo)
	case search.PrefixLe:
		return t.Before(hi)
	case search.PrefixNe:
		return t.Before(lo) || !t.Before(hi)
	default:
		return !t.Before(lo) && t.Before(hi)
	}
}

// follows reports whether d comes after the cursor in the order keys
// (before it when back), as afterCursor's filter decides in a query.
func follows(d currentDoc, keys []sortField, c *service.Cursor, back bool) bool {
	vals := append(slices.Clone(c.Keys), c.ID)
	for i, k := range keys {
		if k.field == "_id" && d.typ != c.Type && c.Type != "" {
			return (d.typ > c.Type) != back
		}
		if v := k.value(d); v != vals[i] {
			return (v > vals[i]) != k.desc != back
		}
	}
	return false
}

// ownFieldFilter is the exact filter of an _id or _lastUpdated clause,
// on the document's own _id and lu fields (which the body's id and
// meta.lastUpdated repeat); ok is false for other clauses.
func ownFieldFilter(c search.Clause) (bson.D, bool) {
	if c.Modifier != search.ModNone {
		return nil, false
	}
	var or bson.A
	switch c.Param.Name {
	case "_id":
		var ids []string
		for _, v := range c.Values {
			if v.Token == nil || !v.Token.AnySystem {
				return nil, false
			}
			ids = append(ids, v.Token.Code)
		}
		return bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, true
	case "_lastUpdated":
		for _, v := range c.Values {
			or = append(or, instantCond("lu", v.Prefix, v.Date))
		}
	default:
		return nil, false
	}
	if len(or) == 1 {
		return or[0].(bson.D), true
	}
	return bson.D{{Key: "$or", Value: or}}, true
}

// instantCond is the condition on an instant field (stored to the
// millisecond: the range [t, t+1ms)) for a date search value.
func instantCond(field string, pre search.Prefix, d *search.DateValue) bson.D {
	lo, hi := d.Lo, ceilMilli(d.Hi)
	lo = ceilMilli(lo)
	c := func(o string, t any) bson.D { return bson.D{{Key: field, Value: bson.D{{Key: o, Value: t}}}} }
	switch pre {
	case search.PrefixGt, search.PrefixSa:
		return c("$gte", hi)
	case search.PrefixLt, search.PrefixEb:
		return c("$lt", lo)
	case search.PrefixGe:
		return c("$gte", lo)
	case search.PrefixLe:
		return c("$lt", hi)
	case search.PrefixNe:
		return bson.D{{Key: "$or", Value: bson.A{c("$lt", lo), c("$gte", hi)}}}
	default: // eq, ap (ap's range is already widened)
		return bson.D{{Key: field, Value: bson.D{{Key: "$gte", Value: lo}, {Key: "$lt", Value: hi}}}}
	}
}

// clauseFilter is the filter of a clause without chain: the $or of its
// values' filters; nil when a value has none (the clause is then checked
// on the candidates only). exact says whether it selects exactly.
func clauseFilter(typ string, c search.Clause) (bson.D, bool) {
	if c.Param.Kind == search.Token && c.Modifier == search.ModNot {
		// :not=a,b matches what is neither a nor b.
		var forms []string
		for _, v := range c.Values {
			forms = append(forms, tokenForm(v.Token))
		}
		return bson.D{{Key: "x." + c.Param.Name, Value: bson.D{{Key: "$nin", Value: forms}}}}, true
	}
	var or bson.A
	exact := true
	for _, v := range c.Values {
		f, ex := valueFilter(typ, c, v)
		if f == nil {
			return nil, false
		}
		exact = exact && ex
		or = append(or, f)
	}
	if len(or) == 1 {
		return or[0].(bson.D), exact
	}
	return bson.D{{Key: "$or", Value: or}}, exact
}

// valueFilter is the filter of one value of c (nil: none can be written),
// and whether it is exact.
func valueFilter(typ string, c search.Clause, v search.QueryValue) (bson.D, bool) {
	name := c.Param.Name
	eq := func(field string, val any) bson.D { return bson.D{{Key: field + "." + name, Value: val}} }
	op := func(field, o string, val any) bson.D {
		return bson.D{{Key: field + "." + name, Value: bson.D{{Key: o, Value: val}}}}
	}
	prefix := func(s string) bson.D { return op("x", "$regex", "^"+regexp.QuoteMeta(s)) }
	if c.Modifier == search.ModMissing {
		// A parameter with values has a sort key, or is named in m.
		present := bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "xo." + name, Value: bson.D{{Key: "$exists", Value: true}}}},
			bson.D{{Key: "m", Value: name}},
		}}}
		if v.Missing {
			return bson.D{{Key: "xo." + name, Value: bson.D{{Key: "$exists", Value: false}}},
				{Key: "m", Value: bson.D{{Key: "$ne", Value: name}}}}, true
		}
		return present, true
	}
	switch c.Param.Kind {
	case search.Token:
		switch c.Modifier {
		case search.ModText:
			return op("xt", "$regex", "^"+regexp.QuoteMeta(v.Normalized)), true
		case search.ModOfType:
			t := v.Token
			return eq("xf", t.TypeSystem+"|"+t.TypeCode+"|"+t.Code), true
		}
		return eq("x", tokenForm(v.Token)), true
	case search.String:
		switch c.Modifier {
		case search.ModExact:
			return eq("xe", v.String), true
		case search.ModContains:
			return op("x", "$regex", regexp.QuoteMeta(v.Normalized)), true
		}
		return prefix(v.Normalized), true
	case search.URI:
		switch c.Modifier {
		case search.ModBelow:
			return prefix(v.URI), true
		case search.ModAbove:
			return nil, false
		}
		return eq("x", v.URI), true
	case search.Reference:
		if c.Modifier == search.ModIdentifier {
			return eq("xi", tokenForm(v.Token)), true
		}
		refs := refCandidates(c.Param, v.Reference)
		if len(refs) == 0 {
			return nil, false
		}
		return op("x", "$in", refs), true
	case search.Date:
		d := v.Date
		lo, hi := d.Lo, d.Hi
		switch v.Prefix {
		case search.PrefixEq:
			return bson.D{{Key: "xl." + name, Value: bson.D{{Key: "$gte", Value: lo}}},
				{Key: "xh." + name, Value: bson.D{{Key: "$lte", Value: ceilMilli(hi)}}}}, false
		case search.PrefixGt:
			return op("xh", "$gt", hi), true
		case search.PrefixLt:
			return op("xl", "$lt", ceilMilli(lo)), true
		case search.PrefixGe:
			return op("xh", "$gt", lo), true
		case search.PrefixLe:
			return op("xl", "$lt", ceilMilli(hi)), true
		case search.PrefixSa:
			return op("xl", "$gte", hi), true
		case search.PrefixEb:
			return op("xh", "$lte", ceilMilli(lo)), true
		case search.PrefixAp:
			return bson.D{{Key: "xl." + name, Value: bson.D{{Key: "$lt", Value: ceilMilli(hi)}}},
				{Key: "xh." + name, Value: bson.D{{Key: "$gt", Value: lo}}}}, false
		}
		return nil, false
	case search.Number, search.Quantity:
		n := v.Number
		if v.Quantity != nil {
			n = &v.Quantity.NumberValue
		}
		exact := c.Param.Kind == search.Number || v.Quantity.Code == ""
		switch v.Prefix {
		case search.PrefixEq, search.PrefixAp:
			return bson.D{{Key: "xn." + name, Value: bson.D{{Key: "$gte", Value: n.Lo}, {Key: "$lt", Value: n.Hi}}}}, false
		case search.PrefixGt, search.PrefixSa:
			return op("xn", "$gt", n.Value), exact
		case search.PrefixLt, search.PrefixEb:
			return op("xn", "$lt", n.Value), exact
		case search.PrefixGe:
			return op("xn", "$gte", n.Value), exact
		case search.PrefixLe:
			return op("xn", "$lte", n.Value), exact
		}
		return nil, false
	}
	return nil, false
}

// tokenForm is the indexed form (tokenForms) a token search value matches.
func tokenForm(t *search.TokenValue) string {
	switch {
	case t.AnySystem:
		return t.Code
	case t.System == "":
		return "|" + t.Code
	default:
		return t.System + "|" + t.Code
	}
}

// refCandidates are the indexed references a reference value matches.
func refCandidates(p search.Param, r *search.ReferenceValue) []string {
	switch {
	case r.URL != "":
		return []string{r.URL}
	case r.ID == "":
		return nil
	case r.Type != "":
		return []string{r.Type + "/" + r.ID}
	}
	targets := p.Targets
	if len(targets) == 0 {
		targets = append(fhir.TypeNames(), search.Types()...)
	}
	var out []string
	for _, t := range targets {
		if ref := t + "/" + r.ID; !slices.Contains(out, ref) {
			out = append(out, ref)
		}
	}
	return out
}

// chainFilter resolves a chained clause (or _has) of typ to a filter on
// typ's own fields, one query per link from the end of the chain back,
// each within the caller's tenancy: a chain never reveals what the
// caller cannot read. ok is false when nothing can match.
func (s *Store) chainFilter(ctx context.Context, typ string, c search.Clause, q service.SearchQuery) (bson.D, bool, error) {
	types := []string{typ}
	for _, l := range c.Chain {
		types = append(types, l.Next())
	}
	inner := c
	inner.Chain = nil
	end := types[len(types)-1]
	p, ok, err := s.plan(ctx, end, []search.Clause{inner}, service.SearchQuery{Tenancy: q.Tenancy})
	if err != nil || !ok {
		return nil, false, err
	}
	for i := len(c.Chain) - 1; i >= 0; i-- {
		l := c.Chain[i]
		docs, err := s.all(ctx, p, maxJoin+1)
		if err != nil {
			return nil, false, err
		}
		if len(docs) > maxJoin {
			return nil, false, errTooCostly("search parameter %s: the chained search matches more than %d %s resources; narrow it", c.Key, maxJoin, types[i+1])
		}
		f, ok := linkFilter(l, types[i], types[i+1], docs)
		if !ok {
			return nil, false, nil
		}
		if i == 0 {
			return f, true, nil
		}
		if p, ok, _ = s.plan(ctx, types[i], nil, service.SearchQuery{Tenancy: q.Tenancy}); !ok {
			return nil, false, nil
		}
		p.filter = append(p.filter, bson.E{Key: "$and", Value: bson.A{f}})
	}
	return nil, false, errors.New("empty chain")
}

// linkFilter is the filter on resources of typ (the type before link l)
// related through l to docs, resources of next (the type after it); ok
// is false when none can be. References may be relative ("Type/id") or,
// for canonical references (QuestionnaireResponse.questionnaire), the
// target's url, with or without "|version".
func linkFilter(l search.Link, typ, next string, docs []currentDoc) (bson.D, bool) {
	if !l.Reverse {
		// Resources of typ whose l.Param references one of docs.
		refs, urls := []string{}, []string{}
		for _, d := range docs {
			refs = append(refs, next+"/"+d.ID)
			for _, u := range d.Index.X["url"] {
				urls = append(urls, u)
				for _, v := range d.Index.X["version"] {
					refs = append(refs, u+"|"+v)
				}
			}
		}
		if len(refs) == 0 {
			return nil, false
		}
		f := bson.D{{Key: "x." + l.Param.Name, Value: bson.D{{Key: "$in", Value: refs}}}}
		if len(urls) > 0 {
			f = bson.D{{Key: "$or", Value: bson.A{f, bson.D{{Key: "xc." + l.Param.Name, Value: bson.D{{Key: "$in", Value: urls}}}}}}}
		}
		return f, true
	}
	// Resources of typ that docs reference through l.Param.
	ids, urls := []string{}, []string{}
	for _, d := range docs {
		for _, ref := range d.Index.X[l.Param.Name] {
			if t, id, ok := strings.Cut(ref, "/"); ok && t == typ && isTypeID(ref) {
				ids = append(ids, id)
			} else if strings.Contains(ref, "://") || strings.HasPrefix(ref, "urn:") {
				u, _, _ := strings.Cut(ref, "|")
				urls = append(urls, u)
			}
		}
	}
	var or bson.A
	if len(ids) > 0 {
		or = append(or, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	}
	if _, ok := search.Lookup(typ, "url"); ok && len(urls) > 0 {
		or = append(or, bson.D{{Key: "x.url", Value: bson.D{{Key: "$in", Value: urls}}}})
	}
	switch len(or) {
	case 0:
		return nil, false
	case 1:
		return or[0].(bson.D), true
	}
	return bson.D{{Key: "$or", Value: or}}, true
}

// sortField is one key of a search's order.
type sortField struct {
	field string // the stored field: lu, _id or xo.<name>
	desc  bool
	time  bool // lu: a date, written in cursors as timeKey
}

// sortFields are the stored fields of _sort; _id ascending ends every
// order (in a system search, after the type).
func sortFields(keys []search.SortKey) []sortField {
	var out []sortField
	for _, k := range keys {
		switch k.Param.Name {
		case "_id":
			out = append(out, sortField{field: "_id", desc: k.Desc})
			return out
		case "_lastUpdated":
			out = append(out, sortField{field: "lu", desc: k.Desc, time: true})
		default:
			out = append(out, sortField{field: "xo." + k.Param.Name, desc: k.Desc})
		}
	}
	return append(out, sortField{field: "_id"})
}

// value is d's value of the sort field, as written in a cursor.
func (f sortField) value(d currentDoc) string {
	switch {
	case f.field == "_id":
		return d.ID
	case f.time:
		return timeKey(d.LU)
	default:
		return d.Index.XO[strings.TrimPrefix(f.field, "xo.")]
	}
}

// cursorOf is d's position in the order keys (which ends with _id).
func cursorOf(d currentDoc, keys []sortField) service.Cursor {
	c := service.Cursor{Order: orderName(keys), Type: d.typ, ID: d.ID}
	for _, k := range keys[:len(keys)-1] {
		c.Keys = append(c.Keys, k.value(d))
	}
	return c
}

// orderName names the order keys in cursors: the fields, "-" before
// those descending.
func orderName(keys []sortField) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		if k.desc {
			b.WriteByte('-')
		}
		b.WriteString(k.field)
	}
	return b.String()
}

// cursorKeys returns the cursor's values for keys, or a 400 when the
// cursor was made for another order.
func cursorKeys(c *service.Cursor, keys []sortField) ([]any, error) {
	bad := fhir.Errorf(r4.IssueTypeValue, "_cursor", "the page token does not belong to this search")
	if len(c.Keys) != len(keys)-1 || c.Order != orderName(keys) {
		return nil, bad
	}
	vals := append(slices.Clone(c.Keys), c.ID)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = vals[i]
		if k.time {
			t, err := parseTimeKey(vals[i])
			if err != nil {
				return nil, bad
			}
			out[i] = t
		}
	}
	return out, nil
}

// afterCursor is the filter of the documents of typ that come after
// (before, when back) the cursor in the order keys; nil if none can.
func afterCursor(typ string, keys []sortField, vals []any, curType string, back bool) bson.A {
	var or bson.A
	eq := bson.D{}
	last := len(keys) - 1
	for i, k := range keys {
		if i == last && k.field == "_id" && curType != typ {
			// Ordered by type before id: all or none of typ's ties.
			if (typ > curType) != back {
				or = append(or, eq)
			}
			break
		}
		// A sort key may be absent (the resource has no value), which
		// sorts before every value, as the cursor's "" stands for.
		v := vals[i]
		optional := k.field != "_id" && !k.time
		missing := optional && v == ""
		exists := func(b bool) bson.D { return bson.D{{Key: "$exists", Value: b}} }
		var beyond bson.E
		switch greater := k.desc == back; {
		case missing && greater:
			beyond = bson.E{Key: k.field, Value: exists(true)}
		case missing:
			// nothing sorts before an absent key
		case optional && !greater:
			beyond = bson.E{Key: "$or", Value: bson.A{
				bson.D{{Key: k.field, Value: bson.D{{Key: "$lt", Value: v}}}},
				bson.D{{Key: k.field, Value: exists(false)}},
			}}
		case greater:
			beyond = bson.E{Key: k.field, Value: bson.D{{Key: "$gt", Value: v}}}
		default:
			beyond = bson.E{Key: k.field, Value: bson.D{{Key: "$lt", Value: v}}}
		}
		if beyond.Key != "" {
			or = append(or, append(slices.Clone(eq), beyond))
		}
		if missing {
			eq = append(eq, bson.E{Key: k.field, Value: exists(false)})
		} else {
			eq = append(eq, bson.E{Key: k.field, Value: v})
		}
	}
	return or
}

// page reads up to n+1 matches of plans in order from after, and reports
// whether there were more than n. Several plans (a system search) are
// read one query each and merged.
func (s *Store) page(ctx context.Context, plans []plan, keys []sortField, after *service.Cursor, n int) ([]currentDoc, bool, error) {
	back := after != nil && after.Back
	var vals []any
	if after != nil {
		var err error
		if vals, err = cursorKeys(after, keys); err != nil {
			return nil, false, err
		}
	}
	var all []currentDoc
	for _, p := range plans {
		docs, err := s.read(ctx, p, keys, vals, after, back, n+1)
		if err != nil {
			return nil, false, err
		}
		all = append(all, docs...)
	}
	if len(plans) > 1 {
		sort.SliceStable(all, func(i, j int) bool {
			if back {
				return less(all[j], all[i], keys)
			}
			return less(all[i], all[j], keys)
		})
	}
	more := len(all) > n
	if more {
		all = all[:n]
	}
	if back {
		slices.Reverse(all)
	}
	return all, more, nil
}

// less orders two documents as keys do, then by type and id.
func less(a, b currentDoc, keys []sortField) bool {
	for _, k := range keys {
		if k.field == "_id" && a.typ != b.typ {
			return a.typ < b.typ
		}
		va, vb := k.value(a), k.value(b)
		if va != vb {
			return (va < vb) != k.desc
		}
	}
	return false
}

// read returns up to limit matches of p in order after vals (nil: from
// the start), querying again past candidates that fail the exact check.
func (s *Store) read(ctx context.Context, p plan, keys []sortField, vals []any, after *service.Cursor, back bool, limit int) ([]currentDoc, error) {
	sortSpec := bson.D{}
	for _, k := range keys {
		d := 1
		if k.desc != back {
			d = -1
		}
		sortSpec = append(sortSpec, bson.E{Key: k.field, Value: d})
	}
	curType := p.typ
	if after != nil && after.Type != "" {
		curType = after.Type
	}
	if s.lookups(p) {
		return s.lookup(ctx, p, keys, after, back, limit)
	}
	var out []currentDoc
	// A filter that lets through candidates the exact check may reject is
	// read in batches growing fourfold per query, so that a selective
	// check costs a few queries, not one per page of rejects (each query
	// may be a scan on FerretDB).
	batch := limit
	if !p.exact {
		batch = max(limit, 100)
	}
	for {
		f := p.filter
		if vals != nil {
			or := afterCursor(p.typ, keys, vals, curType, back)
			if len(or) == 0 {
				return out, nil
			}
			f = append(slices.Clone(f), bson.E{Key: "$or", Value: or})
		}
		want := max(limit-len(out), batch)
		docs, err := s.find(ctx, p.typ, f, options.Find().SetSort(sortSpec).SetLimit(int64(want)))
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			if s.matches(p, d) {
				out = append(out, d)
				if len(out) == limit {
					// Candidates read past the last match are left to the
					// next page, which starts after that match.
					return out, nil
				}
			}
		}
		if len(docs) < want {
			return out, nil
		}
		batch = min(batch*4, 10000)
		lastDoc := docs[len(docs)-1]
		c := cursorOf(lastDoc, keys)
		if vals, err = cursorKeys(&c, keys); err != nil {
			return nil, err
		}
		curType = p.typ
	}
}

// all returns up to limit matches of p in no particular order.
func (s *Store) all(ctx context.Context, p plan, limit int) ([]currentDoc, error) {
	return s.read(ctx, p, []sortField{{field: "_id"}}, nil, nil, false, limit)
}

// count counts the matches of plans: by the server when the filters are
// exact, by reading the candidates otherwise.
func (s *Store) count(ctx context.Context, plans []plan) (int64, error) {
	var total int64
	for _, p := range plans {
		if s.lookups(p) {
			docs, err := s.lookup(ctx, p, []sortField{{field: "_id"}}, nil, false, len(p.ids))
			if err != nil {
				return 0, err
			}
			total += int64(len(docs))
			continue
		}
		if p.exact {
			n, err := s.coll(p.typ).CountDocuments(ctx, p.filter)
			if err != nil {
				return 0, s.storageErr("count", err)
			}
			total += n
			continue
		}
		docs, err := s.find(ctx, p.typ, p.filter, options.Find())
		if err != nil {
			return 0, err
		}
		for _, d := range docs {
			if s.matches(p, d) {
				total++
			}
		}
	}
	return total, nil
}

// matches applies the exact check of p's clauses to candidate d.
func (s *Store) matches(p plan, d currentDoc) bool {
	if len(p.post) == 0 {
		return true
	}
	idx, err := search.Extract(p.typ, []byte(d.Body))
	if err != nil {
		return false
	}
	localRefs(idx, s.opts.BaseURL)
	return search.MatchesAll(p.post, idx)
}

// coll is the collection searched for typ.
func (s *Store) coll(typ string) *mongo.Collection {
	if typ == service.AuditType {
		return s.db.Collection(auditCollection)
	}
	return s.current(typ)
}

// find runs one query on typ's collection.
func (s *Store) find(ctx context.Context, typ string, f bson.D, o *options.FindOptionsBuilder) ([]currentDoc, error) {
	cur, err := s.coll(typ).Find(ctx, f, o)
	if err != nil {
		return nil, s.storageErr("search", err)
	}
	var docs []currentDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.storageErr("search", err)
	}
	for i := range docs {
		docs[i].typ = typ
	}
	return docs, nil
}

// include reads what _include and _revinclude add to the page docs: one
// query per level and type, within the caller's tenancy and the types
// the caller may read.
func (s *Store) include(ctx context.Context, q service.SearchQuery, sq *search.Query, docs []currentDoc) ([]service.Record, error) {
	if len(sq.Include) == 0 && len(sq.RevInclude) == 0 {
		return nil, nil
	}
	seen := map[string]bool{}
	for _, d := range docs {
		seen[d.typ+"/"+d.ID] = true
	}
	var out []service.Record
	level := docs
	for depth := 0; depth < maxIncludeDepth && len(level) > 0; depth++ {
		wanted := map[string][]string{} // type -> ids
		canon := map[string][]string{}  // type -> canonical urls
		for _, inc := range sq.Include {
			if depth > 0 && !inc.Iterate {
				continue
			}
			for _, d := range level {
				if inc.Source != "*" && inc.Source != d.typ {
					continue
				}
				for _, name := range refParams(d.typ, inc) {
					for _, ref := range d.Index.X[name] {
						if strings.Contains(ref, "://") || strings.HasPrefix(ref, "urn:") {
							// A canonical reference: its target by url (any version).
							u, _, _ := strings.Cut(ref, "|")
							for _, t := range targetsOf(d.typ, name) {
								if _, ok := search.Lookup(t, "url"); ok && (inc.Target == "" || t == inc.Target) &&
									slices.Contains(q.Includable, t) && !slices.Contains(canon[t], u) {
									canon[t] = append(canon[t], u)
								}
							}
							continue
						}
						t, id, ok := strings.Cut(ref, "/")
						if !ok || !isTypeID(ref) || (inc.Target != "" && t != inc.Target) ||
							!slices.Contains(q.Includable, t) || seen[ref] {
							continue
						}
						seen[ref] = true
						wanted[t] = append(wanted[t], id)
					}
				}
			}
		}
		var next []currentDoc
		for _, t := range sortedKeys(wanted) {
			ids := wanted[t]
			if len(ids) > maxIncluded {
				return nil, errTooCostly("_include would add more than %d resources to one page; lower _count", maxIncluded)
			}
			p, ok, _ := s.plan(ctx, t, nil, service.SearchQuery{Tenancy: q.Tenancy})
			if !ok {
				continue
			}
			p.filter = append(p.filter, bson.E{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}})
			p.ids = ids
			got, err := s.all(ctx, p, len(ids))
			if err != nil {
				return nil, err
			}
			next = append(next, got...)
		}
		for _, t := range sortedKeys(canon) {
			p, ok, _ := s.plan(ctx, t, nil, service.SearchQuery{Tenancy: q.Tenancy})
			if !ok {
				continue
			}
			p.filter = append(p.filter, bson.E{Key: "x.url", Value: bson.D{{Key: "$in", Value: canon[t]}}})
			got, err := s.find(ctx, t, p.filter, options.Find().SetLimit(maxIncluded+1))
			if err != nil {
				return nil, err
			}
			if len(got) > maxIncluded {
				return nil, errTooCostly("_include would add more than %d resources to one page; lower _count", maxIncluded)
			}
			for _, g := range got {
				if ref := g.typ + "/" + g.ID; !seen[ref] {
					seen[ref] = true
					next = append(next, g)
				}
			}
		}
		for _, inc := range sq.RevInclude {
			if depth > 0 && !inc.Iterate {
				continue
			}
			for _, src := range revSources(inc, q.Includable) {
				for _, name := range refParams(src, inc) {
					// References to the level's resources, relative or, for
					// canonical resources, by url|version or url.
					byType := map[string][]currentDoc{}
					for _, d := range level {
						if slices.Contains(targetsOf(src, name), d.typ) {
							byType[d.typ] = append(byType[d.typ], d)
						}
					}
					var or bson.A
					for _, t := range sortedKeys(byType) {
						if f, ok := linkFilter(search.Link{Param: search.Param{Name: name}}, src, t, byType[t]); ok {
							or = append(or, f)
						}
					}
					p, ok, _ := s.plan(ctx, src, nil, service.SearchQuery{Tenancy: q.Tenancy})
					if len(or) == 0 || !ok {
						continue
					}
					p.filter = append(p.filter, bson.E{Key: "$or", Value: or})
					got, err := s.find(ctx, src, p.filter, options.Find().SetLimit(maxIncluded+1))
					if err != nil {
						return nil, err
					}
					if len(got) > maxIncluded {
						return nil, errTooCostly("_revinclude would add more than %d resources to one page; lower _count", maxIncluded)
					}
					for _, g := range got {
						if ref := g.typ + "/" + g.ID; !seen[ref] {
							seen[ref] = true
							next = append(next, g)
						}
					}
				}
			}
		}
		for _, d := range next {
			out = append(out, d.rec())
		}
		level = next
	}
	return out, nil
}

// refParams are the reference parameters of typ an include follows.
func refParams(typ string, inc search.Include) []string {
	if !inc.Wildcard {
		return []string{inc.Param.Name}
	}
	var out []string
	for _, p := range search.Params(typ) {
		if p.Kind == search.Reference && p.Supported() {
			out = append(out, p.Name)
		}
	}
	return out
}

// revSources are the types a _revinclude reads.
func revSources(inc search.Include, includable []string) []string {
	if inc.Source != "*" {
		if slices.Contains(includable, inc.Source) {
			return []string{inc.Source}
		}
		return nil
	}
	var out []string
	for _, t := range includable {
		if search.Params(t) != nil {
			out = append(out, t)
		}
	}
	return out
}

// targetsOf are the types parameter name of typ may refer to.
func targetsOf(typ, name string) []string {
	p, ok := search.Lookup(typ, name)
	if !ok {
		return nil
	}
	if len(p.Targets) == 0 {
		return append(fhir.TypeNames(), service.AuditType)
	}
	return p.Targets
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
